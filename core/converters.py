"""Path converters. Object ids are 1–18 digits: a longer number cannot be a row's id and would
overflow PostgreSQL's bigint (an error, not a 404)."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


def parse_id(raw: str | None) -> int | None:
    """An object id from a query or form value: ASCII digits within a bigint, else None."""
    raw = (raw or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None
