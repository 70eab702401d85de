"""The catalogue of agency permissions, assembled from the modules' declarations.

Permissions are codenames checked with ``user.has_perm("agency.<codename>")`` (an app's
``Perm.X.perm``); roles are named sets of them defined per agency, and each employee can be
granted or refused single ones on top. Each app declares its own in its ``module.py``
(core.modules); nothing is added here.
"""

from core.modules import (
    PERMISSION_PREFIX,
    SYSTEM_ROLES,
    audit_action_label,
    audit_action_labels,
    default_grants,
    permission_groups,
    permission_help,
    permission_labels,
)

__all__ = [
    "PERMISSION_PREFIX",
    "SYSTEM_ROLES",
    "audit_action_label",
    "audit_action_labels",
    "default_roles",
    "labelled_groups",
    "permission_choices",
    "permission_groups",
    "permission_help",
    "permission_labels",
]


def default_roles() -> list[dict]:
    """The system roles with the grants the installed modules declare for them."""
    return [
        {
            "codename": role.codename,
            "name_ar": role.name_ar,
            "name_en": role.name_en,
            "permissions": default_grants(role.codename),
        }
        for role in SYSTEM_ROLES
    ]


def permission_choices() -> list[tuple[str, str]]:
    return list(permission_labels().items())


def labelled_groups(codes) -> list[tuple[object, list[object]]]:
    """``codes`` by area for reading: ``[(area label, [permission labels])]``; a code no
    installed app declares any more is shown as itself."""
    labels = permission_labels()
    return [
        (area.label, [labels.get(code, code) for code in group])
        for area, group in permission_groups(codes)
    ]
