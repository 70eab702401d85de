from django.apps import AppConfig


class ThrowawayConfig(AppConfig):
    name = "tests.throwaway_module"
    label = "throwaway_module"
