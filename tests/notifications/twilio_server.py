"""A local stand-in for Twilio's Messages API, so tests run the real ``twilio`` client end to end.

It answers ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` the way Twilio does: HTTP
Basic auth with AccountSid:AuthToken, form fields ``To``, ``From`` or ``MessagingServiceSid``,
``Body``, ``StatusCallback``; 201 with the message resource as JSON, or Twilio's error JSON
(``code``, ``message``, ``more_info``, ``status``). Every request is recorded for assertions.

Behaviours a test can ask for:
- ``fail_next(n)``: the next ``n`` create calls answer 500 (or another status);
- ``invalid_numbers``: a ``To`` in this set answers 400 with code 21211, as does a ``To`` that
  is not E.164.

Standard library only (http.server in a thread); binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

API_VERSION = "2010-04-01"
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# GSM 03.38 basic and extension tables: a body made only of these goes as GSM-7 (160/153 per
# segment, extension characters count twice); anything else makes the whole body UCS-2 (70/67).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


def twilio_segments(body: str) -> int:
    """How Twilio counts segments (independent of the project's own ``sms_segments``)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in body):
        units = sum(2 if ch in GSM_EXTENSION else 1 for ch in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return (units + multi - 1) // multi


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    status: int = 0
    response: dict = field(default_factory=dict)

    @property
    def authorization(self) -> str:
        return self.headers.get("Authorization", "")

    def basic_credentials(self) -> tuple[str, str] | None:
        scheme, _, encoded = self.authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        return user, password


class FakeTwilio:
    """``with FakeTwilio(sid, token) as server: ... server.base_url``"""

    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.invalid_numbers: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self.messages: list[dict] = []  # the messages Twilio accepted (201)
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.invalid_numbers.clear()
            self.requests.clear()
            self.messages.clear()
            self._failures.clear()

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def status_callback_params(
        self, message: dict, status: str, *, error_code: str = "", **extra: str
    ) -> dict[str, str]:
        """The form Twilio posts to a message's StatusCallback when its status changes."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": message["sid"],
            "MessageStatus": status,
            "SmsSid": message["sid"],
            "SmsStatus": status,
            "To": message["to"],
        }
        if message.get("from"):
            params["From"] = message["from"]
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code:
            params["ErrorCode"] = error_code
        params.update(extra)
        return params

    # --- HTTP ------------------------------------------------------------------------------

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "FakeTwilio/1.0"

            def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
                pass

            def _reply(self, record: RecordedRequest, status: int, payload: dict) -> None:
                record.status, record.response = status, payload
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, record, status: int, code: int | None, message: str) -> None:
                payload = {"code": code, "message": message, "status": status}
                payload["more_info"] = f"https://www.twilio.com/docs/errors/{code}" if code else ""
                self._reply(record, status, payload)

            def do_GET(self):  # noqa: N802
                record = RecordedRequest("GET", self.path, dict(self.headers.items()), {})
                with fake._lock:
                    fake.requests.append(record)
                self._error(record, 404, 20404, "The requested resource was not found")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                record = RecordedRequest("POST", self.path, dict(self.headers.items()), form)
                with fake._lock:
                    fake.requests.append(record)
                    failure = fake._failures.pop(0) if fake._failures else None

                match = MESSAGES_PATH.match(self.path.split("?")[0])
                if match is None:
                    return self._error(record, 404, 20404, "The requested resource was not found")
                if record.basic_credentials() != (fake.account_sid, fake.auth_token):
                    return self._error(record, 401, 20003, "Authenticate")
                if match["account"] != fake.account_sid:
                    return self._error(record, 404, 20404, "The requested resource was not found")
                if failure is not None:
                    return self._error(record, failure, 20500, "Internal Server Error")

                to = form.get("To", "")
                body = form.get("Body", "")
                sender = form.get("From", "")
                service = form.get("MessagingServiceSid", "")
                if not to:
                    return self._error(record, 400, 21604, "A 'To' phone number is required.")
                if not sender and not service:
                    return self._error(
                        record,
                        400,
                        21603,
                        "A 'From' or 'MessagingServiceSid' parameter is required.",
                    )
                if not body:
                    return self._error(record, 400, 21602, "Message body is required.")
                if to in fake.invalid_numbers or not E164.match(to):
                    return self._error(
                        record, 400, 21211, "The 'To' number is not a valid phone number."
                    )

                sid = "SM" + secrets.token_hex(16)
                now = formatdate(usegmt=True)
                uri = f"/{API_VERSION}/Accounts/{fake.account_sid}/Messages/{sid}"
                message = {
                    "account_sid": fake.account_sid,
                    "api_version": API_VERSION,
                    "body": body,
                    "date_created": now,
                    "date_sent": None,
                    "date_updated": now,
                    "direction": "outbound-api",
                    "error_code": None,
                    "error_message": None,
                    "from": sender or None,
                    "messaging_service_sid": service or None,
                    "num_media": "0",
                    # A Messaging Service picks the sender later: Twilio answers "0" segments.
                    "num_segments": "0" if service and not sender else str(twilio_segments(body)),
                    "price": None,
                    "price_unit": "USD",
                    "sid": sid,
                    "status": "accepted" if service and not sender else "queued",
                    "subresource_uris": {"media": f"{uri}/Media.json"},
                    "to": to,
                    "uri": f"{uri}.json",
                    # not part of Twilio's answer: what the test asked for, kept for assertions
                    "_status_callback": form.get("StatusCallback", ""),
                }
                with fake._lock:
                    fake.messages.append(message)
                payload = {k: v for k, v in message.items() if not k.startswith("_")}
                self._reply(record, 201, payload)

        return Handler
