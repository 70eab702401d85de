"""A meeting of 500 members voting (issue 13, R-33): the real daphne server with the Redis
channel layer, 500 websockets on the meeting's socket, every vote through the real HTTP path.

    .venv/bin/python infra/run.py bench -- -v -k meeting_votes

Printed: the time from the poll's opening until all 500 votes are recorded (and that each is
counted exactly once), close-to-result time (the chair's close until the result has reached all
500 sockets), and the latency of a live update reaching all 500 sockets (p50 / p95 over the
vote-count pushes, from the vote's HTTP answer to the last socket). Settings: BENCH_VOTERS
(500), BENCH_VOTE_CLIENTS (24 HTTP client threads), REDIS_URL.
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


class Sockets(threading.Thread):
    """All the members' websockets in one event loop; every message is kept as (arrival,
    socket index, decoded JSON)."""

    def __init__(self, port: int, path: str, cookies: list[str]):
        super().__init__(daemon=True)
        self.port, self.path, self.cookies = port, path, cookies
        self.messages: list[tuple[float, int, dict]] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sockets: list[MiniWebSocket] = []

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc
            self.connected.set()

    async def _open(self, cookie: str) -> MiniWebSocket:
        ws = await MiniWebSocket.connect(
            "127.0.0.1", self.port, self.path, {"Origin": "http://127.0.0.1", "Cookie": cookie}
        )
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        return ws

    async def _read(self, index: int, ws: MiniWebSocket) -> None:
        while True:
            try:
                text = await ws.recv()
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if text is None:
                return
            with self.lock:
                self.messages.append((time.perf_counter(), index, json.loads(text)))

    async def _main(self) -> None:
        limit = asyncio.Semaphore(16)

        async def opened(cookie):
            async with limit:
                return await self._open(cookie)

        self.sockets = await asyncio.gather(*(opened(c) for c in self.cookies))
        self.connected.set()
        await asyncio.gather(*(self._read(i, ws) for i, ws in enumerate(self.sockets)))

    def close(self) -> None:
        if self.loop and not self.loop.is_closed():
            for ws in self.sockets:
                try:
                    asyncio.run_coroutine_threadsafe(ws.close(), self.loop).result(timeout=5)
                except Exception:  # noqa: BLE001 - closing at teardown
                    pass
        self.join(timeout=10)


def test_bench_500_members_vote(committed_db, agencies, settings, tmp_path):
    if not _redis_available(REDIS_URL):
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (set REDIS_URL)")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "muamalat"},
        }
    }
    from meetings.constants import MemberRole
    from meetings.models_voting import PollOption, PollVoter
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
                "--websocket_connect_timeout",
                "60",
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
    sockets = None
    try:
        deadline = time.monotonic() + 60
        while True:
            assert daphne.poll() is None, log_path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "daphne did not start"
            time.sleep(0.2)

        t0 = time.perf_counter()
        sockets = Sockets(port, f"/ws/meetings/{agency.slug}/{meeting.pk}/", cookies)
        sockets.start()
        assert sockets.connected.wait(180), "the sockets did not connect"
        if sockets.error:
            raise sockets.error
        connect_seconds = time.perf_counter() - t0

        with schema_context(agency.schema_name):
            opened_at = time.perf_counter()
            voting.poll_open(actor=chair.user, poll=poll, override_reason="bench")
        connection.set_schema_to_public()

        url = f"http://127.0.0.1:{port}/meetings/{agency.slug}/{meeting.pk}/polls/{poll.pk}/vote/"
        answered: dict[int, float] = {}

        def vote(i: int) -> int:
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
        all_recorded = time.perf_counter() - opened_at
        with schema_context(agency.schema_name):
            recorded = PollVoter.objects.filter(poll=poll).count()
            tally = dict(PollOption.objects.filter(poll=poll).values_list("position", "count"))
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
        if sockets is not None:
            sockets.close()
        _stop(daphne)

    # Each count push ("voted": n) is the answer to one vote; its latency is from the vote's
    # HTTP answer (the commit is just before) until the last of the 500 sockets has it.
    arrivals: dict[int, list[float]] = defaultdict(list)
    result_arrivals = []
    for at, _index, message in messages:
        if message.get("type") == "poll_count":
            arrivals[message["voted"]].append(at)
        elif message.get("type") == "poll_closed":
            result_arrivals.append(at)
    answers = sorted(answered.values())
    push_latencies = []
    fanouts = []
    for n, times in arrivals.items():
        if len(times) == N_VOTERS:
            fanouts.append((max(times) - min(times)) * 1000)
        if len(times) == N_VOTERS and n <= len(answers):
            # the n-th answered vote made the count n (counts are committed in order)
            push_latencies.append((max(times) - answers[n - 1]) * 1000)
    close_to_result = (max(result_arrivals) - close_start) if result_arrivals else float("nan")

    print(
        f"\n[bench] meeting of {N_VOTERS} members, daphne + Redis, {HTTP_CLIENTS} HTTP clients\n"
        f"[bench]   {N_VOTERS} sockets connected in {connect_seconds:.2f} s\n"
        f"[bench]   open -> all {N_VOTERS} votes recorded: {all_recorded:.2f} s "
        f"({recorded} recorded, tally {tally}, HTTP statuses {sorted(set(statuses))})\n"
        f"[bench]   close (service {closed - close_start:.3f} s) -> result on all "
        f"{len(result_arrivals)} sockets: {close_to_result:.3f} s\n"
        f"[bench]   live count reaching all {N_VOTERS} sockets: "
        f"{len(push_latencies)} pushes measured, p50 "
        f"{statistics.median(push_latencies) if push_latencies else float('nan'):.0f} ms, "
        f"p95 {_percentile(push_latencies, 0.95) if push_latencies else float('nan'):.0f} ms "
        f"(from the vote's HTTP answer); first-to-last socket p95 "
        f"{_percentile(fanouts, 0.95) if fanouts else float('nan'):.0f} ms"
    )
    assert recorded == N_VOTERS and sum(tally.values()) == N_VOTERS
    assert set(statuses) == {200}
    assert len(result_arrivals) == N_VOTERS
