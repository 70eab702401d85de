"""Answers ``user.has_perm("agency.<codename>")`` from the current agency's membership."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection

from tenants.permissions import PERMISSION_PREFIX

CACHE_ATTRIBUTE = "_agency_permission_cache"


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
            from tenants.selectors import membership_permissions

            cache[schema] = {
                PERMISSION_PREFIX + code for code in membership_permissions(user=user_obj)
            }
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


def clear_permission_cache(user_obj) -> None:
    if getattr(user_obj, CACHE_ATTRIBUTE, None) is not None:
        delattr(user_obj, CACHE_ATTRIBUTE)


def _cache(user_obj) -> dict[str, set[str]]:
    """The user's permissions per agency schema, kept on the user object for its lifetime (a
    request). Read and written as an attribute, not through ``__dict__``, so that it lands on
    the user itself when given ``request.user``, a lazy object wrapping it."""
    cache = getattr(user_obj, CACHE_ATTRIBUTE, None)
    if cache is None:
        cache = {}
        setattr(user_obj, CACHE_ATTRIBUTE, cache)
    return cache
