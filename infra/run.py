"""`make run` and `make test` land here (stdlib only, run with the project's virtualenv).

serve: database (private cluster unless DATABASE_URL), migrations, demo data when empty, then
       daphne (HTTP + websockets) on 127.0.0.1:8000; Ctrl-C stops everything it started.
test:  database as above, then pytest (extra arguments after `--` go to pytest).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import devdb  # noqa: E402

PYTHON = sys.executable


def database_env() -> tuple[dict, bool]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    started = False
    if not env.get("DATABASE_URL"):
        url, started = devdb.start()
        env["DATABASE_URL"] = url
        print(f"[muamalat] private PostgreSQL: {url}", flush=True)
    else:
        print("[muamalat] using DATABASE_URL", flush=True)
    return env, started


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def compile_messages(env: dict) -> None:
    subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "compilemessages", "-v", "0", "--ignore", ".venv"],
        env=env,
        cwd=ROOT,
        check=False,
    )


def serve() -> int:
    env, started = database_env()
    env.setdefault("DEBUG", "1")
    children: list[subprocess.Popen] = []
    try:
        compile_messages(env)
        manage(env, "migrate_agencies", "-v", "0")
        manage(env, "seed_demo")
        host = env.get("HOST", "127.0.0.1")
        port = env.get("PORT", "8000")
        print(f"[muamalat] serving http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
        children.append(
            subprocess.Popen(
                [PYTHON, "-m", "daphne", "-b", host, "-p", port, "portal.asgi:application"],
                env=env,
                cwd=ROOT,
            )
        )
        for child in children:
            child.wait()
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
            devdb.stop()
            print("[muamalat] private PostgreSQL stopped", flush=True)


def test(pytest_args: list[str]) -> int:
    env, started = database_env()
    # A test database of its own per run, so parallel runs on one cluster do not collide.
    env.setdefault("TEST_DATABASE_NAME", f"test_muamalat_{os.getpid()}")
    try:
        compile_messages(env)
        return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], env=env, cwd=ROOT).returncode
    finally:
        # Stopped only by `make run`'s Ctrl-C or `make dbstop`: concurrent runs may share it.
        pass


def bench(args: list[str]) -> int:
    env, started = database_env()
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
            devdb.stop()


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
    if command == "dbstop":
        devdb.stop()
        sys.exit(0)
    sys.exit(f"unknown command {command}")
