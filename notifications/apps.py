from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from core import messaging
        from notifications import checks  # noqa: F401 - registers the deployment checks

        messaging.senders_register(
            notify=_notify, notify_address=_notify_address, account_email=_account_email
        )


# Looked up at each call, so the services stay the one implementation (and can be patched).
def _notify(**kwargs):
    from notifications.services import notification_send

    return notification_send(**kwargs)


def _notify_address(**kwargs):
    from notifications.services import address_email_send

    return address_email_send(**kwargs)


def _account_email(message):
    from notifications.services import account_email_queue

    return account_email_queue(message)
