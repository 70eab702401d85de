"""Guards for agency workspace views: tenant resolved, signed in, employee, permission."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from tenants.backends import permission_cache_fill
from tenants.selectors import membership_for


def workspace_view(permission: str | None = None):
    """Decorate a view under /a/<slug>/. Anonymous visitors go to login; people who are not
    active employees of this agency get 403; employees without ``permission`` get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, agency_slug=None, **kwargs):
            if getattr(request, "agency", None) is None:
                raise Http404
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for(user=request.user)
            if membership is None or not membership.is_active:
                raise PermissionDenied(_("You are not an employee of this agency."))
            request.membership = membership
            # has_perm answers from this membership and its roles, not from a second load.
            permission_cache_fill(request.user, membership)
            if permission and not request.user.has_perm("agency." + permission):
                raise PermissionDenied(_("You do not have permission to do this."))
            return view(request, *args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator
