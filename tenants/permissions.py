"""The catalogue of agency permissions, assembled from the modules' declarations.

Permissions are codenames checked with ``user.has_perm("agency.<codename>")`` (an app's
``Perm.X.perm``); roles are named sets of them defined per agency, and each employee can be
granted or refused single ones on top. Each app declares its own in its ``module.py``
(core.modules); nothing is added here.
"""

from core.modules import PERMISSION_PREFIX, SYSTEM_ROLES, default_grants, permission_labels

__all__ = [
    "PERMISSION_PREFIX",
    "SYSTEM_ROLES",
    "default_roles",
    "permission_choices",
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
