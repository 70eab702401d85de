"""Models of meetings: room (see meetings.models)."""

__all__: list[str] = []
