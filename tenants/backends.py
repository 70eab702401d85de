"""Answers ``user.has_perm("agency.<codename>")`` from the current agency's membership."""

from django.conf import settings
from django.db import connection

from tenants.permissions import PERMISSION_PREFIX


class AgencyPermissionBackend:
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
        cache = user_obj.__dict__.setdefault("_agency_permission_cache", {})
        if schema not in cache:
            from tenants.selectors import membership_permissions

            cache[schema] = {
                PERMISSION_PREFIX + code for code in membership_permissions(user=user_obj)
            }
        return cache[schema]

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)


def clear_permission_cache(user_obj) -> None:
    user_obj.__dict__.pop("_agency_permission_cache", None)
