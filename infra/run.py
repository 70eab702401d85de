"""`make run` and `make test` land here (stdlib only, run with the project's virtualenv).

serve: database (the durable private cluster var/pgdata unless DATABASE_URL), migrations (as
       the owner role), demo data when empty, then daphne (HTTP + websockets) on
       127.0.0.1:8000 and the job worker (as the app role); Ctrl-C stops everything it started.
test:  database (the fast private cluster var/pgtest unless DATABASE_URL), then pytest (extra
       arguments after `--` go to pytest).
reset: after confirmation (or `-- --yes`), stop serve's private cluster and delete it (var/pgdata)
       and the attachments (var/private).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import devdb  # noqa: E402

PYTHON = sys.executable


def database_env(cluster: devdb.Cluster = devdb.RUN) -> tuple[dict, bool]:
    """The environment with the database: DATABASE_URL (the application's role) and
    DATABASE_OWNER_URL (the role that owns the schema and runs the migrations). Without
    DATABASE_URL, the private cluster's two roles; with it, DATABASE_OWNER_URL as given (unset:
    the same role does both)."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    started = False
    if not env.get("DATABASE_URL"):
        urls, started = devdb.start(cluster)
        env.update(urls)
        env.pop("DATABASE_APP_ROLE", None)  # the app role is DATABASE_URL's user
        mode = "durable" if cluster.durable else "fsync off, for tests"
        print(
            f"[muamalat] private PostgreSQL ({mode}): app {urls['DATABASE_URL']}, "
            f"owner {urls['DATABASE_OWNER_URL']}",
            flush=True,
        )
    else:
        print("[muamalat] using DATABASE_URL", flush=True)
    return env, started


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def compile_messages(env: dict) -> None:
    subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "compilemessages", "-v", "0", "--ignore", ".venv"],
        env=env,
        cwd=ROOT,
        check=False,
    )


def site_url(host: str, port: str) -> str:
    """The address a browser on this machine reaches the server at: a wildcard listen
    address (0.0.0.0, ::) becomes the loopback one, an IPv6 literal gets its brackets."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve_env(env: dict) -> tuple[str, str]:
    """Complete `make run`'s environment in place; returns (host, port) to serve on.

    DEBUG defaults to 1. SITE_URL (links in emails and notifications, the CSP's websocket
    origin) follows HOST and PORT unless set to something non-empty, and its host name is
    added to the default ALLOWED_HOSTS, so that the links work on the port actually served."""
    env.setdefault("DEBUG", "1")
    host = env.get("HOST") or "127.0.0.1"
    port = env.get("PORT") or "8000"
    if not env.get("SITE_URL"):
        env["SITE_URL"] = site_url(host, port)
    if not env.get("ALLOWED_HOSTS"):
        hosts = ["127.0.0.1", "localhost"]
        site_host = urlsplit(env["SITE_URL"]).hostname
        if site_host and site_host not in hosts:
            hosts.append(f"[{site_host}]" if ":" in site_host else site_host)
        env["ALLOWED_HOSTS"] = ",".join(hosts)
    return host, port


def serve() -> int:
    env, started = database_env()
    host, port = serve_env(env)
    print(f"[muamalat] links in emails: {env['SITE_URL']}", flush=True)
    if not env.get("REDIS_URL") and redis_reachable():
        # Web server and worker are two processes: a shared channel layer lets pushes made by
        # jobs reach browsers. Without Redis, pushes from the web process still work.
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    print(
        f"[muamalat] channel layer: {env.get('REDIS_URL') or 'in-memory (no Redis found)'}",
        flush=True,
    )
    children: list[subprocess.Popen] = []
    try:
        compile_messages(env)
        manage(env, "migrate_agencies", "-v", "0")
        manage(env, "seed_demo")
        print(f"[muamalat] serving http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
        children.append(
            subprocess.Popen(
                [PYTHON, "-m", "daphne", "-b", host, "-p", port, "portal.asgi:application"],
                env=env,
                cwd=ROOT,
            )
        )
        # The job worker beside the web server (notifications, periodic jobs).
        children.append(
            subprocess.Popen(
                [PYTHON, str(ROOT / "manage.py"), "procrastinate", "worker"], env=env, cwd=ROOT
            )
        )
        # Stop when either child stops: a crashed worker must not go unnoticed.
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return max((child.returncode or 0) for child in children)
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if started:
            devdb.stop(devdb.RUN)
            print("[muamalat] private PostgreSQL stopped", flush=True)


def reset(
    *, yes: bool = False, env: dict | None = None, ask=input, cluster: devdb.Cluster = devdb.RUN
) -> int:
    """`make reset`: wipe `make run`'s private cluster (the demo data and everything entered)
    and the attachments of var/private, after confirmation; the next `make run` starts from an
    empty database and creates fresh demo data. The test cluster (var/pgtest) is left alone.
    With DATABASE_URL set, nothing is touched: that database is not ours to drop."""
    env = dict(os.environ) if env is None else env
    if env.get("DATABASE_URL"):
        print(
            f"[muamalat] DATABASE_URL is set: reset only wipes the private cluster "
            f"({cluster.data}); drop and recreate that database yourself.",
            file=sys.stderr,
        )
        return 1
    media = Path(env.get("PRIVATE_MEDIA_ROOT") or devdb.VAR / "private")
    # Only attachments kept under var/ (the default): a PRIVATE_MEDIA_ROOT elsewhere is not ours.
    targets = [cluster.data] + ([media] if media.resolve().is_relative_to(devdb.VAR) else [])
    present = [path for path in targets if path.exists()]
    if not present:
        print("[muamalat] nothing to reset: no local database yet", flush=True)
        return 0
    print("[muamalat] reset deletes, for good:", flush=True)
    for path in present:
        print(f"  {path}", flush=True)
    if not yes:
        try:
            answer = ask("Type 'yes' to delete them: ")
        except EOFError:
            answer = ""
        if answer.strip().lower() != "yes":
            print("[muamalat] reset cancelled; nothing deleted", flush=True)
            return 1
    devdb.stop(cluster)
    for path in present:
        shutil.rmtree(path)
    cluster.port_file.unlink(missing_ok=True)
    print("[muamalat] reset done: `make run` starts afresh, with new demo data", flush=True)
    return 0


def random_keys(env: dict) -> None:
    """Fresh random keys for those unset: tests and benchmarks run with DEBUG=0, whose settings
    refuse the development keys, and so exercise real keys (servers they start inherit them)."""
    import base64
    import secrets

    fresh = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "IDENTITY_HASH_KEY": secrets.token_urlsafe(32),
    }
    for name, value in fresh.items():
        if not env.get(name):
            env[name] = value
    # Tests read messages from the console/locmem outboxes, which DEBUG=0 otherwise refuses.
    env.setdefault("ALLOW_CONSOLE_DELIVERY", "1")


def test(pytest_args: list[str]) -> int:
    env, started = database_env(devdb.TEST)
    random_keys(env)
    # A test database of its own per run, so parallel runs on one cluster do not collide.
    env.setdefault("TEST_DATABASE_NAME", f"test_muamalat_{os.getpid()}")
    # The private cluster keeps running afterwards (`make dbstop` stops it): runs may share it.
    compile_messages(env)
    return subprocess.run(
        [PYTHON, "-m", "pytest", *parallel_args(pytest_args), *pytest_args], env=env, cwd=ROOT
    ).returncode


def parallel_args(pytest_args: list[str]) -> list[str]:
    """The whole suite (no arguments) runs in TEST_WORKERS processes (pytest-xdist, default 2;
    0 or 1: one process), the browser tests together in one of them (tests/e2e/conftest.py);
    a run given arguments (a file, -k…) is left as asked."""
    workers = int(os.environ.get("TEST_WORKERS", "2") or 0)
    if pytest_args or workers < 2:
        return []
    return ["-n", str(workers), "--dist", "loadgroup"]


def bench(args: list[str]) -> int:
    env, started = database_env(devdb.TEST)
    random_keys(env)
    env.setdefault("TEST_DATABASE_NAME", f"bench_muamalat_{os.getpid()}")
    try:
        return subprocess.run(
            [
                PYTHON,
                "-m",
                "pytest",
                "-s",
                "-p",
                "no:randomly",
                "--override-ini",
                "addopts=-p no:cacheprovider",
                "tests/bench",
                *args,
            ],
            env=env,
            cwd=ROOT,
        ).returncode
    finally:
        if started:
            devdb.stop(devdb.TEST)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    rest = sys.argv[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if command == "serve":
        sys.exit(serve())
    if command == "test":
        sys.exit(test(rest))
    if command == "bench":
        sys.exit(bench(rest))
    if command == "reset":
        sys.exit(reset(yes="--yes" in rest))
    if command == "dbstop":
        devdb.stop()
        sys.exit(0)
    sys.exit(f"unknown command {command}")
