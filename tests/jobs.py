"""Run the jobs a test deferred, in the test's own transaction.

The real worker (a separate process) cannot see rows of an uncommitted test transaction, so unit
tests run pending jobs here with the same task functions and a JobContext; tests in
tests/notifications/test_worker.py run the real `manage.py procrastinate worker` on committed
data.
"""

import json
import time
from types import SimpleNamespace

from django.db import connection
from procrastinate import JobContext
from procrastinate.contrib.django import app

# Set per test by tests/conftest.py: jobs committed before the test started (by a real worker's
# periodic deferrer, or by tests that commit) are not this test's to run.
BASELINE: int | None = None


def pending_jobs(task_name: str | None = None) -> list[dict]:
    sql = "SELECT id, task_name, args, attempts FROM procrastinate_jobs WHERE status = 'todo'"
    params: list = []
    if BASELINE is not None:
        sql += " AND id > %s"
        params.append(BASELINE)
    if task_name:
        sql += " AND task_name = %s"
        params.append(task_name)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id", params)
        return [
            {"id": row[0], "task_name": row[1], "args": row[2], "attempts": row[3]}
            for row in cursor.fetchall()
        ]


def run_pending_jobs(task_name: str | None = None, *, raise_errors: bool = True) -> int:
    """Run every pending job once (in id order), then the jobs those deferred (a notification's
    rendering job queues its deliveries' jobs), until none is left; returns how many ran."""
    ran = 0
    while True:
        batch = pending_jobs(task_name)
        if not batch:
            return ran
        ran += _run(batch, raise_errors=raise_errors)


def render_pending() -> int:
    """Run the pending notification rendering jobs (notifications.services.notification_send
    defers one per notification; it writes the deliveries and queues their sending)."""
    return _run(pending_jobs("notifications.render"), raise_errors=True)


def _run(batch: list[dict], *, raise_errors: bool) -> int:
    ran = 0
    for job in batch:
        task = app.tasks[job["task_name"]]
        raw = job["args"]
        kwargs = json.loads(raw) if isinstance(raw, str) else dict(raw)
        args = []
        if task.pass_context:
            args.append(
                JobContext(
                    app=app,
                    job=SimpleNamespace(attempts=job["attempts"], id=job["id"], queue=None),
                    start_timestamp=time.time(),
                    abort_reason=lambda: None,
                )
            )
        try:
            task.func(*args, **kwargs)
            status = "succeeded"
        except Exception:
            status = "failed"
            if raise_errors:
                raise
        finally:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE procrastinate_jobs SET status = %s WHERE id = %s",
                    [status if status == "succeeded" else "failed", job["id"]],
                )
        ran += 1
    return ran
