"""Test-only email backend for the real-worker tests: appends each message's text to the file
named by TEST_EMAIL_FILE (the worker is another process, so locmem's outbox is out of reach)."""

import os

from django.core.mail.backends.base import BaseEmailBackend


class FileEmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        with open(os.environ["TEST_EMAIL_FILE"], "a", encoding="utf-8") as out:
            for message in messages:
                out.write(f"To: {', '.join(message.to)}\n{message.body}\n")
                for content, _mimetype in getattr(message, "alternatives", []):
                    out.write(f"{content}\n")
        return len(messages)
