"""Models of meetings: voting (see meetings.models)."""

__all__: list[str] = []
