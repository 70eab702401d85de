"""Notification benchmarks (issue 3): deliveries per second through the real job worker, and the
latency from a commit to the in-app push arriving on the recipient's websocket.

    .venv/bin/python infra/run.py bench -- -k notifications -v

Both run against the bench test database with committed rows (``committed_db``): the worker and
daphne are separate processes. Settings: BENCH_NOTIFICATIONS (default 500),
BENCH_WORKER_CONCURRENCY (10), BENCH_WS_ROUNDS (200), REDIS_URL (redis://127.0.0.1:6379/0).
"""

import asyncio
import base64
import hashlib
import json
import os
import queue
import random
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection, transaction

from accounts.models import SmsMessage
from notifications.models import Delivery
from notifications.services import notification_send
from tests.e2e.conftest import _database_url
from tests.factories import make_beneficiary, mobile_number, national_id

ROOT = Path(__file__).resolve().parents[2]
N_NOTIFICATIONS = int(os.environ.get("BENCH_NOTIFICATIONS", "500"))
CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "10"))
WS_ROUNDS = int(os.environ.get("BENCH_WS_ROUNDS", "200"))
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
START_TIMEOUT = 30


def _subprocess_env(**extra: str) -> dict[str, str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    assert db.get("TEST", {}).get("NAME") == db["NAME"] or db["NAME"].startswith(
        ("test_", "bench_")
    ), f"refusing to point a subprocess at {db['NAME']!r}"
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(DATABASE_URL=_database_url(db), PYTHONUNBUFFERED="1", **extra)
    return env


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _users(count: int, prefix: str) -> list:
    base = 30_000_000 + random.randrange(60_000_000)
    return [
        make_beneficiary(
            email=f"{prefix}-{base + i}@example.sa",
            mobile=mobile_number(base + i),
            identity_number=national_id(base + i),
            preferred_language="ar" if i % 2 else "en",
        )
        for i in range(count)
    ]


# --- a) deliveries per second through the worker ---------------------------------------------


def test_bench_notifications_delivered_per_second(committed_db, tmp_path):
    users = _users(50, "bench-throughput")
    log_path = tmp_path / "worker.log"
    with open(log_path, "w", encoding="utf-8") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "procrastinate",
                "worker",
                "--concurrency",
                str(CONCURRENCY),
            ],
            cwd=ROOT,
            env=_subprocess_env(
                SMS_BACKEND="notifications.backends.sms.ConsoleSmsBackend",
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                LOG_LEVEL="WARNING",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(0.2)
        deadline = time.monotonic() + START_TIMEOUT
        # the worker is up when it has registered itself
        while not _scalar("SELECT count(*) FROM procrastinate_workers"):
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.05)

        started = time.perf_counter()
        with transaction.atomic():
            notifications = [
                notification_send(
                    recipient=users[i % len(users)],
                    event="account.welcome",
                    idempotency_key=f"bench-throughput-{i}-{started}",
                )
                for i in range(N_NOTIFICATIONS)
            ]
        committed = time.perf_counter()
        ids = list(
            Delivery.objects.filter(
                notification__in=notifications, channel__in=["email", "sms"]
            ).values_list("pk", flat=True)
        )
        assert len(ids) == 2 * N_NOTIFICATIONS
        timeout = max(120, N_NOTIFICATIONS * 0.2)
        done = 0
        while done < len(ids):
            done = Delivery.objects.filter(pk__in=ids, status=Delivery.SENT).count()
            if time.perf_counter() - committed > timeout:
                pytest.fail(
                    f"only {done}/{len(ids)} sent after {timeout}s:\n"
                    + log_path.read_text()[-3000:]
                )
            time.sleep(0.05)
        finished = time.perf_counter()
    finally:
        _stop(worker)

    sms = SmsMessage.objects.filter(to__in=[u.mobile for u in users]).count()
    assert sms == N_NOTIFICATIONS  # one SMS per notification, none twice
    elapsed = finished - committed
    print(
        f"\n[bench] worker throughput: {N_NOTIFICATIONS} notifications "
        f"({len(ids)} deliveries: {N_NOTIFICATIONS} SMS + {N_NOTIFICATIONS} email, console/locmem "
        f"backends), worker concurrency {CONCURRENCY}\n"
        f"[bench]   enqueue (one transaction): {committed - started:.2f}s "
        f"({N_NOTIFICATIONS / (committed - started):.0f} notifications/s)\n"
        f"[bench]   commit -> all sent: {elapsed:.2f}s = {len(ids) / elapsed:.0f} deliveries/s "
        f"({N_NOTIFICATIONS / elapsed:.0f} notifications/s)"
    )


def _scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


# --- b) commit -> websocket latency ------------------------------------------------------------


class MiniWebSocket:
    """A minimal RFC 6455 client over asyncio streams: handshake, masked text frames out,
    unfragmented or fragmented text frames in, ping answered, close."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, path: str, headers: dict[str, str]):
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status = head.split("\r\n", 1)[0]
        if " 101 " not in status + " ":
            raise ConnectionError(f"websocket refused: {head!r}")
        accept = base64.b64encode(hashlib.sha1((key + cls.GUID).encode()).digest()).decode()
        if f"sec-websocket-accept: {accept.lower()}" not in head.lower():
            raise ConnectionError(f"bad Sec-WebSocket-Accept: {head!r}")
        return cls(reader, writer)

    async def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def send_text(self, text: str) -> None:
        await self._send(0x1, text.encode())

    async def recv(self) -> str | None:
        """The next text message; None once the server closed."""
        parts: list[bytes] = []
        while True:
            b1, b2 = await self.reader.readexactly(2)
            opcode, length = b1 & 0x0F, b2 & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            mask = await self.reader.readexactly(4) if b2 & 0x80 else None
            data = await self.reader.readexactly(length)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x8:
                return None
            if opcode == 0x9:
                await self._send(0xA, data)
                continue
            if opcode in (0x1, 0x0):
                parts.append(data)
                if b1 & 0x80:
                    return b"".join(parts).decode()

    async def close(self) -> None:
        try:
            await self._send(0x8, struct.pack("!H", 1000))
        except (ConnectionError, RuntimeError):
            pass
        self.writer.close()


class SocketListener(threading.Thread):
    """Holds one websocket in its own event loop; every message lands in ``messages`` as
    (perf_counter at arrival, decoded JSON)."""

    def __init__(self, port: int, cookie: str):
        super().__init__(daemon=True)
        self.port = port
        self.cookie = cookie
        self.messages: queue.Queue = queue.Queue()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ws: MiniWebSocket | None = None
        self.error: BaseException | None = None
        self.connected = threading.Event()

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc
            self.connected.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self.ws = await MiniWebSocket.connect(
            "127.0.0.1",
            self.port,
            "/ws/notifications/",
            {"Origin": "http://127.0.0.1", "Cookie": self.cookie},
        )
        self.connected.set()
        while True:
            try:
                text = await self.ws.recv()
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if text is None:
                return
            self.messages.put((time.perf_counter(), json.loads(text)))

    def close(self) -> None:
        if self.loop and self.ws and not self.loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop).result(timeout=5)
            except Exception:  # noqa: BLE001 - closing at teardown
                pass
        self.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def test_bench_notifications_commit_to_websocket_latency(committed_db, settings, tmp_path):
    if not _redis_available(REDIS_URL):
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (set REDIS_URL)")
    # The bench process publishes through the same Redis channel layer daphne listens on.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYER_BACKENDS[settings.REDIS_CHANNEL_LAYER],
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "muamalat"},
        }
    }
    (user,) = _users(1, "bench-ws")

    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    session_cookie = f"{name}={client.cookies[name].value}"

    port = _free_port()
    log_path = tmp_path / "daphne.log"
    with open(log_path, "w", encoding="utf-8") as log:
        daphne = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "portal.asgi:application",
            ],
            cwd=ROOT,
            env=_subprocess_env(
                REDIS_URL=REDIS_URL,
                ALLOWED_HOSTS="127.0.0.1,localhost",
                DB_CONN_MAX_AGE="0",
                LOG_LEVEL="WARNING",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    listener: SocketListener | None = None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert daphne.poll() is None, log_path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "daphne did not start:\n" + log_path.read_text()
            time.sleep(0.1)

        listener = SocketListener(port, session_cookie)
        listener.start()
        assert listener.connected.wait(10), "websocket did not connect"
        if listener.error:
            raise listener.error
        _at, hello = listener.messages.get(timeout=10)
        assert hello == {"type": "hello", "schema": "public"}, hello

        latencies: list[float] = []
        for i in range(WS_ROUNDS + 5):  # the first 5 warm up (connections, template caches)
            committed_at: list[float] = []
            with transaction.atomic():
                # Registered first, so it runs first after the commit, before the push.
                transaction.on_commit(lambda at=committed_at: at.append(time.perf_counter()))
                notification = notification_send(
                    recipient=user,
                    event="account.welcome",
                    idempotency_key=f"bench-ws-{i}-{time.time()}",
                )
            while True:
                arrived, payload = listener.messages.get(timeout=5)
                if payload.get("type") == "notification" and payload.get("id") == notification.pk:
                    break
            if i >= 5:
                latencies.append((arrived - committed_at[0]) * 1000)
    finally:
        if listener is not None:
            listener.close()
        _stop(daphne)

    p50 = statistics.median(latencies)
    p95 = _percentile(latencies, 0.95)
    print(
        f"\n[bench] commit -> websocket push (Redis channel layer {REDIS_URL}, daphne, "
        f"{len(latencies)} notifications): p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
        f"max {max(latencies):.2f} ms"
    )
    assert p95 < 1000, "pushes must arrive within a second of the commit (issue 3)"
