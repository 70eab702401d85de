"""What the notifications app brings to the platform (see core.modules): the delivery log
permission and the notification pages of the workspace."""

from django.utils.translation import gettext_lazy as _

from core.modules import MenuEntry, Module, Permissions


class Perm(Permissions):
    VIEW_LOG = "notifications.view_log", _("View the log of messages sent")


MODULE = Module(
    name="notifications",
    permissions=Perm,
    menu=[
        MenuEntry("workspace:notifications", _("Notifications"), order=30),
        MenuEntry("workspace:delivery_log", _("Messages sent"), (Perm.VIEW_LOG,), order=180),
    ],
    workspace_urls="notifications.urls.workspace_urlpatterns",
)
