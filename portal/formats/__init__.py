"""The project's locale formats (settings.FORMAT_MODULE_PATH), on top of Django's own."""
