class DeliveryError(Exception):
    """A provider refused or failed a message."""


class TransientDeliveryError(DeliveryError):
    """May succeed later (5xx, timeout, connection refused): the job is retried with backoff."""


class PermanentDeliveryError(DeliveryError):
    """Will never succeed (invalid number, address refused): the delivery fails with reason."""
