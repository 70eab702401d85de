"""A bounded burst against the server as `make run` starts it (issue 10, safe defaults).

daphne with `make run`'s environment (infra/run.py serve: DEBUG=1, no DB_CONN_MAX_AGE, so the
settings' default applies) on a free loopback port, against the benchmark's test database as
the app role. CLIENTS threads send ROUNDS rounds of PAGES each; a sampler counts the test
database's connections in pg_stat_activity meanwhile. Printed: p50/p95 per page, 5xx count,
peak connections. Asserted: no 5xx, and the peak stays well under max_connections (with
CONN_MAX_AGE=60 under ASGI each request's thread left its connection open: 194 of 200).
Loopback only; bounded in requests (CLIENTS x ROUNDS x len(PAGES)) and time (TIMEOUT)."""

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests import roles
from tests.bench.helpers import bench, load, pct
from tests.e2e.conftest import _database_url, _free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 16
ROUNDS = 25
PAGES = ["/healthz", "/", "/accounts/login/"]
TIMEOUT = 180  # seconds for the whole burst


@pytest.fixture
def server(committed_db, agencies):
    from django.conf import settings

    db = settings.DATABASES["default"]
    port = _free_port()
    env = dict(os.environ)
    env.pop("DB_CONN_MAX_AGE", None)  # the default, as `make run` has it
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=_database_url(db),
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"http://127.0.0.1:{port}",
    )
    connection.close()
    process = subprocess.Popen(
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
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"daphne exited: {process.stderr.read()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("daphne did not answer /healthz within 60s")
                time.sleep(0.2)
        yield base, db["NAME"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _owner_connect(dbname: str) -> psycopg.Connection:
    owner = roles.credentials("owner")
    params = {
        "dbname": dbname,
        "user": owner["USER"],
        "password": owner["PASSWORD"],
        "host": owner["HOST"],
        "port": owner["PORT"],
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)


def test_burst_has_no_5xx_and_few_connections(server):
    base, dbname = server
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        with _owner_connect(dbname) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
                samples.append(row[0])
                time.sleep(0.02)

    def client(_index: int) -> list[tuple[str, int, float]]:
        results = []
        for _round in range(ROUNDS):
            for page in PAGES:
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(base + page, timeout=30) as response:
                        response.read()
                        status = response.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                except OSError:
                    status = 599  # refused or timed out: counted as a server error
                results.append((page, status, time.perf_counter() - started))
        return results

    with _owner_connect(dbname) as conn:
        max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client, i) for i in range(CLIENTS)]
        results = [r for f in futures for r in f.result(timeout=TIMEOUT)]
    elapsed = time.perf_counter() - started
    time.sleep(0.5)  # connections a request left open would still be there
    stop.set()
    sampler.join(timeout=5)
    with _owner_connect(dbname) as conn:
        after = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchone()[0]

    errors = [r for r in results if r[1] >= 500]
    lines = [
        f"{CLIENTS} clients x {ROUNDS} rounds x {len(PAGES)} pages = {len(results)} requests "
        f"in {elapsed:.1f}s ({len(results) / elapsed:.0f}/s), {load()}",
    ]
    for page in PAGES:
        times = [r[2] * 1000 for r in results if r[0] == page]
        statuses = sorted({r[1] for r in results if r[0] == page})
        lines.append(
            f"{page:20} p50 {pct(times, 0.5):6.1f} ms  p95 {pct(times, 0.95):6.1f} ms  "
            f"statuses {statuses}"
        )
    peak = max(samples or [0])
    lines.append(
        f"5xx: {len(errors)}; database connections: peak {peak}, {after} after the burst, "
        f"max_connections {max_connections}"
    )
    bench("burst against daphne as `make run` starts it", *lines)
    assert not errors, errors[:5]
    assert peak <= max_connections // 4, (peak, max_connections)
