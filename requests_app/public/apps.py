from django.apps import AppConfig


class RequestsPublicConfig(AppConfig):
    """Public-schema side of requests: the guidance catalogue and the request index."""

    name = "requests_app.public"
    label = "requests_public"
    verbose_name = "Request index and catalogue"
