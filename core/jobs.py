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

from core import context


def agency_task(**task_options: Any) -> Callable:
    def decorator(func: Callable) -> Any:
        @app.task(**task_options)
        @functools.wraps(func)
        def task(*, schema_name: str, origin_request_id: str = "", **kwargs: Any) -> Any:
            # The job's own action context: its audit rows name the job and, when it was
            # deferred by a request, that request's id.
            request_id = f"job:{origin_request_id or context.new_request_id()}"[:64]
            with (
                schema_context(schema_name),
                context.bound(
                    actor=None, ip=None, request_id=request_id, agency=None, origin="job"
                ),
            ):
                return func(**kwargs)

        return task

    return decorator


def defer_in_agency(task: Any, **kwargs: Any) -> int:
    """Enqueue ``task`` for the agency whose schema is active (inside the caller's transaction)."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("defer_in_agency needs an agency schema")
    origin = context.current().request_id
    if origin:
        kwargs["origin_request_id"] = origin
    return task.defer(schema_name=connection.schema_name, **kwargs)
