"""Background jobs of the notifications layer (procrastinate, PostgreSQL-backed)."""

import logging

from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from notifications.backends.errors import TransientDeliveryError

logger = logging.getLogger("muamalat.notifications")

MAX_ATTEMPTS = 6
# 2, 4, 8, 16, 32 seconds between attempts, then the delivery fails with its last reason.
DELIVERY_RETRY = RetryStrategy(
    max_attempts=MAX_ATTEMPTS - 1, exponential_wait=2, retry_exceptions={TransientDeliveryError}
)


# Rendering fails only on a database error (or a template bug, which retrying will not fix):
# a few quick retries, then the job is failed and visible in procrastinate_jobs.
RENDER_RETRY = RetryStrategy(max_attempts=4, exponential_wait=2)


@app.task(name="notifications.render", queue="notifications", retry=RENDER_RETRY, pass_context=True)
def render(context: JobContext, *, notification_id: int) -> None:
    """Render a notification recorded by ``notification_send`` (off the caller's transaction
    and its locks), write its deliveries, queue their sending (on the queue this job ran on)
    and push it live."""
    from notifications.services import notification_render

    queue = getattr(context.job, "queue", None)
    notification_render(notification_id=notification_id, queue=queue)


@app.task(
    name="notifications.deliver", queue="notifications", retry=DELIVERY_RETRY, pass_context=True
)
def deliver(context: JobContext, *, delivery_id: int) -> None:
    from notifications.services import delivery_attempt

    attempts_before = context.job.attempts or 0
    delivery_attempt(delivery_id=delivery_id, final_attempt=attempts_before + 1 >= MAX_ATTEMPTS)


@app.periodic(cron="* * * * *", periodic_id="retry-stalled")
@app.task(name="jobs.retry_stalled", queueing_lock="retry_stalled", pass_context=True)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Jobs whose worker stopped sending heartbeats (killed, machine lost) are run again;
    the delivery guard makes a re-run of an already sent message a no-op."""
    stalled = await context.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=30)
    for job in stalled:
        logger.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await context.app.job_manager.retry_job(job)


@app.task(
    name="notifications.send_account_email",
    queue="notifications",
    retry=DELIVERY_RETRY,
    pass_context=True,
)
def send_account_email(context: JobContext, *, email_id: int) -> None:
    """Account emails rendered by allauth (confirmation, password reset, sign-in code), sent off
    the request so a slow or failing mail server neither blocks nor loses them. The job carries
    only the id of the encrypted AccountEmail row: its arguments (kept in procrastinate_jobs and
    written to the worker's log) hold no link."""
    from notifications.services import account_email_attempt

    attempts_before = context.job.attempts or 0
    account_email_attempt(email_id=email_id, final_attempt=attempts_before + 1 >= MAX_ATTEMPTS)


@app.task(name="notifications.send_email", queue="notifications", retry=DELIVERY_RETRY)
def send_email(
    *, subject: str, body: str, html: str, to: list[str], from_email: str, headers: dict[str, str]
) -> None:
    """Legacy: account emails queued before they went through ``send_account_email`` carried
    their whole text in the job's arguments. Nothing defers this task any more; it stays so that
    such jobs still queued at an upgrade are sent (migration notifications 0002 blanks the
    arguments of the finished ones)."""
    import smtplib

    from django.core.mail import EmailMultiAlternatives

    message = EmailMultiAlternatives(subject, body, from_email, to, headers=headers)
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(str(exc)) from exc
