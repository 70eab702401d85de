"""Jobs that belong to an agency carry its schema and run inside it.

@agency_task(name="requests.mark_late")
def mark_late(*, request_id: int) -> None: ...   # runs with the agency's schema set

defer_in_agency(mark_late, request_id=7)          # from code running in the agency schema
"""

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context
from procrastinate.contrib.django import app


def agency_task(**task_options: Any) -> Callable:
    def decorator(func: Callable) -> Any:
        @app.task(**task_options)
        @functools.wraps(func)
        def task(*, schema_name: str, **kwargs: Any) -> Any:
            with schema_context(schema_name):
                return func(**kwargs)

        return task

    return decorator


def defer_in_agency(task: Any, **kwargs: Any) -> int:
    """Enqueue ``task`` for the agency whose schema is active (inside the caller's transaction)."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("defer_in_agency needs an agency schema")
    return task.defer(schema_name=connection.schema_name, **kwargs)
