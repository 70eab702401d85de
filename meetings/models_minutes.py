"""Models of meetings: minutes (see meetings.models)."""

__all__: list[str] = []
