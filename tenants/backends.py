"""Answers ``user.has_perm("agency.<codename>")`` from the current agency's membership."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection

from tenants.permissions import PERMISSION_PREFIX

CACHE_ATTRIBUTE = "_agency_permission_cache"
MEMBERSHIP_ATTRIBUTE = "_agency_membership_cache"


class AgencyPermissionBackend:
    """The only backend that answers the agency's permissions (``agency.`` codenames): a
    permission it does not grant is refused here (PermissionDenied stops Django's loop over the
    backends), as the model backends after it hold none of them (no app is labelled "agency")
    and would load the user's and their groups' model permissions, two queries, to say so."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        return None

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous:
            return set()
        schema = connection.schema_name
        if schema == settings.PUBLIC_SCHEMA_NAME:
            return set()
        cache = _cache(user_obj)
        if schema not in cache:
            from tenants.selectors import effective_permissions

            membership = membership_cached(user_obj)
            codes = effective_permissions(membership) if membership is not None else set()
            cache[schema] = {PERMISSION_PREFIX + code for code in codes}
        return cache[schema]

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        if not perm.startswith(PERMISSION_PREFIX):
            return False
        if perm in self.get_all_permissions(user_obj, obj):
            return True
        raise PermissionDenied


def permission_cache_fill(user_obj, membership) -> None:
    """Answer the user's permissions in the current agency from ``membership``, already loaded
    with its roles (the workspace guard's), instead of loading it a second time."""
    from tenants.selectors import effective_permissions

    schema = connection.schema_name
    if schema == settings.PUBLIC_SCHEMA_NAME or not user_obj.is_active:
        return
    _cache(user_obj)[schema] = {
        PERMISSION_PREFIX + code for code in effective_permissions(membership)
    }
    _cache(user_obj, MEMBERSHIP_ATTRIBUTE)[schema] = membership


def membership_cached(user_obj):
    """The user's membership in the current agency (with its roles), or None: loaded once per
    user object, like the permissions (the policies ask for it after has_perm, for free)."""
    schema = connection.schema_name
    if schema == settings.PUBLIC_SCHEMA_NAME or not user_obj.is_authenticated:
        return None
    cache = _cache(user_obj, MEMBERSHIP_ATTRIBUTE)
    if schema not in cache:
        from tenants.selectors import membership_for

        cache[schema] = membership_for(user=user_obj)
    return cache[schema]


def clear_permission_cache(user_obj) -> None:
    for attribute in (CACHE_ATTRIBUTE, MEMBERSHIP_ATTRIBUTE):
        if getattr(user_obj, attribute, None) is not None:
            delattr(user_obj, attribute)


def _cache(user_obj, attribute: str = CACHE_ATTRIBUTE) -> dict:
    """The user's permissions per agency schema, kept on the user object for its lifetime (a
    request). Read and written as an attribute, not through ``__dict__``, so that it lands on
    the user itself when given ``request.user``, a lazy object wrapping it."""
    cache = getattr(user_obj, attribute, None)
    if cache is None:
        cache = {}
        setattr(user_obj, attribute, cache)
    return cache
