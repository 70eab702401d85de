"""A meeting of 500 members voting (issue 13, R-33): the real daphne server with the Redis
channel layer, 500 websockets on the meeting's socket, every vote through the real path: over
the member's own socket (default) or as an HTTP POST to the vote URL (BENCH_VOTE_VIA=http).

    .venv/bin/python infra/run.py bench -- -v -k meeting_votes

Printed: the time from the poll's opening until all 500 votes are recorded (and that each is
counted exactly once), close-to-result time (the chair's close until the result has reached all
500 sockets), and the latency of a live update reaching all 500 sockets (p50 / p95 over the
vote-count pushes, from the vote's answer to the last socket). Settings: BENCH_VOTERS (500),
BENCH_VOTE_VIA (socket | http), BENCH_VOTE_CLIENTS (24 HTTP client threads, http only),
BENCH_DAPHNE (daphne processes, 1; the sockets and votes are spread over them in turn, as a
balancer would), REDIS_URL.
"""

import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tests.bench.test_notifications import (
    REDIS_URL,
    ROOT,
    MiniWebSocket,
    _free_port,
    _percentile,
    _redis_available,
    _stop,
    _subprocess_env,
    _users,
)

N_VOTERS = int(os.environ.get("BENCH_VOTERS", "500"))
HTTP_CLIENTS = int(os.environ.get("BENCH_VOTE_CLIENTS", "24"))
VOTE_VIA = os.environ.get("BENCH_VOTE_VIA", "socket")
DAPHNES = int(os.environ.get("BENCH_DAPHNE", "1"))


class Sockets(threading.Thread):
    """All the members' websockets in one event loop; every message is kept as (arrival,
    socket index, decoded JSON)."""

    def __init__(self, ports: list[int], path: str, cookies: list[str]):
        super().__init__(daemon=True)
        self.ports, self.path, self.cookies = ports, path, cookies
        self.messages: list[tuple[float, int, dict]] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sockets: list[MiniWebSocket] = []
        self.send_errors: list[str] = []
        self.closed: list[int] = []

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc
            self.connected.set()

    async def _open(self, index: int, cookie: str) -> MiniWebSocket:
        port = self.ports[index % len(self.ports)]
        ws = await MiniWebSocket.connect(
            "127.0.0.1", port, self.path, {"Origin": "http://127.0.0.1", "Cookie": cookie}
        )
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        return ws

    async def _read(self, index: int, ws: MiniWebSocket) -> None:
        while True:
            try:
                text = await ws.recv()
            except (asyncio.IncompleteReadError, ConnectionError):
                text = None
            if text is None:
                with self.lock:
                    self.closed.append(index)
                return
            with self.lock:
                self.messages.append((time.perf_counter(), index, json.loads(text)))

    async def _main(self) -> None:
        limit = asyncio.Semaphore(16)
        readers = []

        async def opened(index, cookie):
            async with limit:
                ws = await self._open(index, cookie)
            # read (and answer daphne's pings) from the start: a socket left unread while the
            # others connect misses its pong and is dropped after ping interval + timeout (50 s)
            readers.append(asyncio.ensure_future(self._read(index, ws)))
            return ws

        self.sockets = await asyncio.gather(*(opened(i, c) for i, c in enumerate(self.cookies)))
        self.connected.set()
        await asyncio.gather(*readers)

    def send_all(self, texts: list[str]) -> float:
        """Send text ``i`` on socket ``i``, all at once; returns when the last was written."""

        async def send():
            pairs = zip(self.sockets, texts, strict=True)
            sent = await asyncio.gather(
                *(ws.send_text(t) for ws, t in pairs), return_exceptions=True
            )
            self.send_errors = [repr(e) for e in sent if isinstance(e, BaseException)]
            return time.perf_counter()

        return asyncio.run_coroutine_threadsafe(send(), self.loop).result(timeout=60)

    def close(self) -> None:
        if self.loop and not self.loop.is_closed():
            for ws in self.sockets:
                try:
                    asyncio.run_coroutine_threadsafe(ws.close(), self.loop).result(timeout=5)
                except Exception:  # noqa: BLE001 - closing at teardown
                    pass
        self.join(timeout=10)


def _daphne(port: int, log_path) -> subprocess.Popen:
    with open(log_path, "w", encoding="utf-8") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "--websocket_connect_timeout",
                "60",
                "portal.asgi:application",
            ],
            cwd=ROOT,
            env=_subprocess_env(
                REDIS_URL=REDIS_URL,
                ALLOWED_HOSTS="127.0.0.1,localhost",
                DB_CONN_MAX_AGE=os.environ.get("BENCH_CONN_MAX_AGE", "0"),
                LOG_LEVEL="WARNING",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(port: int, daphne: subprocess.Popen, log_path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert daphne.poll() is None, log_path.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        assert time.monotonic() < deadline, "daphne did not start"
        time.sleep(0.2)


def _summary(latencies: list[float]) -> str:
    if not latencies:
        return "none"
    return f"p50 {statistics.median(latencies):.0f} ms, p95 {_percentile(latencies, 0.95):.0f} ms"


def test_bench_500_members_vote(committed_db, agencies, settings, tmp_path):
    if not _redis_available(REDIS_URL):
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (set REDIS_URL)")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYER_BACKENDS[settings.REDIS_CHANNEL_LAYER],
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "muamalat"},
        }
    }
    from meetings.constants import MemberRole
    from meetings.models_voting import Poll, PollVoter
    from meetings.services import voting
    from tests.meetings.voting_helpers import add_participant, make_meeting

    agency = agencies["alpha"]
    users = _users(N_VOTERS, f"bench-vote-{secrets.token_hex(3)}")
    with schema_context(agency.schema_name):
        meeting = make_meeting(proxies_allowed=False)
        chair = add_participant(meeting, role=MemberRole.CHAIR, user=users[0])
        members = [chair] + [add_participant(meeting, user=u) for u in users[1:]]
        poll = voting.poll_create(
            actor=chair.user,
            meeting=meeting,
            data={"question": "Bench?", "kind": "yes_no", "is_secret": True, "entitlement": "all"},
        )
    connection.set_schema_to_public()

    cookie_name = settings.SESSION_COOKIE_NAME
    csrf = secrets.token_hex(16)  # a 32-character secret: accepted as the cookie and the token
    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies.append(f"{cookie_name}={client.cookies[cookie_name].value}; csrftoken={csrf}")

    ports, daphnes, logs = [], [], []
    for n in range(DAPHNES):
        port = _free_port()
        log_path = tmp_path / f"daphne-{n}.log"
        ports.append(port)
        logs.append(log_path)
        daphnes.append(_daphne(port, log_path))
    sockets = None
    try:
        for port, daphne, log_path in zip(ports, daphnes, logs, strict=True):
            _wait_ready(port, daphne, log_path)

        t0 = time.perf_counter()
        sockets = Sockets(ports, f"/ws/meetings/{agency.slug}/{meeting.pk}/", cookies)
        sockets.start()
        assert sockets.connected.wait(180), "the sockets did not connect"
        if sockets.error:
            raise sockets.error
        connect_seconds = time.perf_counter() - t0

        with schema_context(agency.schema_name):
            opened_at = time.perf_counter()
            voting.poll_open(actor=chair.user, poll=poll, override_reason="bench")
        connection.set_schema_to_public()

        answered: dict[int, float] = {}
        if VOTE_VIA == "http":

            def vote(i: int) -> int:
                port = ports[i % len(ports)]
                url = (
                    f"http://127.0.0.1:{port}/meetings/{agency.slug}/{meeting.pk}"
                    f"/polls/{poll.pk}/vote/"
                )
                body = f"voter={members[i].pk}&choice={1 + i % 3}".encode()
                request = urllib.request.Request(
                    url,
                    data=body,
                    headers={
                        "Cookie": cookies[i],
                        "X-CSRFToken": csrf,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
                with urllib.request.urlopen(request, timeout=60) as response:
                    answered[i] = time.perf_counter()
                    return response.status

            with ThreadPoolExecutor(max_workers=HTTP_CLIENTS) as pool:
                statuses = list(pool.map(vote, range(N_VOTERS)))
        else:
            frames = [
                json.dumps(
                    {
                        "type": "vote",
                        "poll": poll.pk,
                        "voter": members[i].pk,
                        "choices": [1 + i % 3],
                        "ref": str(i),
                    }
                )
                for i in range(N_VOTERS)
            ]
            sockets.send_all(frames)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                with sockets.lock:
                    answers_in = [
                        (at, i, m)
                        for at, i, m in sockets.messages
                        if m.get("type") in ("vote_recorded", "vote_refused")
                    ]
                if len(answers_in) >= N_VOTERS:
                    break
                time.sleep(0.01)
            for at, i, _m in answers_in:
                answered[i] = at
            statuses = sorted({m["type"] for _at, _i, m in answers_in}) or ["no answer"]
        all_recorded = (
            time.perf_counter() - opened_at
            if VOTE_VIA == "http"
            else max(answered.values(), default=opened_at) - opened_at
        )
        with schema_context(agency.schema_name):
            recorded = PollVoter.objects.filter(poll=poll).count()
            # the secret poll's running tally is sealed until the close (meetings.services.voting)
            sealed = Poll.objects.get(pk=poll.pk).sealed_tally
            tally = {i: count for i, (count, _w) in enumerate(voting._unseal(sealed), start=1)}
        connection.set_schema_to_public()

        time.sleep(2)  # let the last count pushes arrive
        with schema_context(agency.schema_name):
            close_start = time.perf_counter()
            # 167 yes, 167 no, 166 abstain: a tie the chair decides openly
            voting.poll_close(actor=chair.user, poll=poll, casting="yes")
            closed = time.perf_counter()
        connection.set_schema_to_public()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with sockets.lock:
                got = {i for _t, i, m in sockets.messages if m.get("type") == "poll_closed"}
            if len(got) == N_VOTERS:
                break
            time.sleep(0.05)
        with sockets.lock:
            messages = list(sockets.messages)
    finally:
        server_closed = 0
        if sockets is not None:
            with sockets.lock:
                server_closed = len(sockets.closed)
            sockets.close()
        for daphne, log_path in zip(daphnes, logs, strict=True):
            _stop(daphne)
            tail = log_path.read_text(errors="replace")[-1500:]
            if tail.strip():
                print(f"\n[bench] {log_path.name} ends with:\n{tail}")

    # Each count push ("voted": n) is the answer to one vote; its latency is from the vote's
    # answer (HTTP response or the socket's vote_recorded; the commit is just before) until the
    # last of the 500 sockets has it.
    arrivals: dict[int, list[float]] = defaultdict(list)
    result_arrivals = []
    for at, _index, message in messages:
        if message.get("type") == "poll_count":
            arrivals[message["voted"]].append(at)
        elif message.get("type") == "poll_closed":
            result_arrivals.append(at)
    answers = sorted(answered.values())
    push_latencies = []
    step_latencies = []
    settle_latencies = []
    fanouts = []
    step = max(1, N_VOTERS // voting.PROGRESS_STEPS)
    for n, times in arrivals.items():
        if len(times) == N_VOTERS:
            fanouts.append((max(times) - min(times)) * 1000)
        if len(times) == N_VOTERS and n <= len(answers):
            # the n-th answered vote made the count n (counts are committed in order)
            latency = (max(times) - answers[n - 1]) * 1000
            push_latencies.append(latency)
            # pushed at once by the vote (a step) or by the settle, up to SETTLE_SECONDS later
            on_step = n % step == 0 or n == N_VOTERS
            (step_latencies if on_step else settle_latencies).append(latency)
    close_to_result = (max(result_arrivals) - close_start) if result_arrivals else float("nan")

    print(
        f"\n[bench] meeting of {N_VOTERS} members, {DAPHNES} daphne + Redis "
        f"({settings.REDIS_CHANNEL_LAYER} layer), votes via "
        f"{VOTE_VIA}" + (f" ({HTTP_CLIENTS} HTTP clients)" if VOTE_VIA == "http" else "") + "\n"
        f"[bench]   {N_VOTERS} sockets connected in {connect_seconds:.2f} s\n"
        f"[bench]   open -> all {N_VOTERS} votes recorded: {all_recorded:.2f} s "
        f"({recorded} recorded, tally {tally}, answers {sorted(set(statuses))})\n"
        f"[bench]   sockets closed by the server: {server_closed}, failed sends: "
        f"{len(sockets.send_errors)} {sockets.send_errors[:2]}\n"
        f"[bench]   close (service {closed - close_start:.3f} s) -> result on all "
        f"{len(result_arrivals)} sockets: {close_to_result:.3f} s\n"
        f"[bench]   live count reaching all {N_VOTERS} sockets: "
        f"{len(push_latencies)} pushes measured, p50 "
        f"{statistics.median(push_latencies) if push_latencies else float('nan'):.0f} ms, "
        f"p95 {_percentile(push_latencies, 0.95) if push_latencies else float('nan'):.0f} ms "
        f"(from the vote's answer); first-to-last socket p95 "
        f"{_percentile(fanouts, 0.95) if fanouts else float('nan'):.0f} ms\n"
        f"[bench]     of which {len(step_latencies)} at a step (every {step} votes): "
        f"{_summary(step_latencies)}; {len(settle_latencies)} by the settle "
        f"(up to {voting.SETTLE_SECONDS:.1f} s after the vote by design): "
        f"{_summary(settle_latencies)}"
    )
    assert recorded == N_VOTERS and sum(tally.values()) == N_VOTERS
    assert set(statuses) == ({200} if VOTE_VIA == "http" else {"vote_recorded"})
    assert len(result_arrivals) == N_VOTERS
