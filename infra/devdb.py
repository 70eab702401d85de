"""A private PostgreSQL cluster under var/ for `make run` and `make test` (stdlib only).

Used when DATABASE_URL is not set. It listens only on its own Unix socket directory and on a
free TCP port of 127.0.0.1, so it never collides with a PostgreSQL already on 5432. The
machine's PostgreSQL binaries are used (pg_config --bindir, or /usr/lib/postgresql/*/bin).
When running as root, the cluster is owned by the `postgres` system user (initdb refuses root).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
DATA = VAR / "pgdata"
SOCKET_DIR = VAR / "pgsock"
PORT_FILE = VAR / "pgport"
LOG = VAR / "postgres.log"
DB_USER = "muamalat"


def bindir() -> Path:
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise SystemExit(
        "PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql or set DATABASE_URL"
    )


def _owner() -> str | None:
    """Run the server as `postgres` when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise SystemExit("running as root needs a 'postgres' system user") from exc
    return "postgres"


def _run(args: list[str], owner: str | None, **kwargs) -> subprocess.CompletedProcess:
    if owner:
        args = ["runuser", "-u", owner, "--", *args]
    return subprocess.run(args, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chown_tree(path: Path, owner: str) -> None:
    entry = pwd.getpwnam(owner)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def _is_running(bin_: Path, owner: str | None) -> bool:
    if not (DATA / "postmaster.pid").exists():
        return False
    result = _run([str(bin_ / "pg_ctl"), "-D", str(DATA), "status"], owner, capture_output=True)
    return result.returncode == 0


def start() -> tuple[str, bool]:
    """Start (initialising if needed) the private cluster; return (DATABASE_URL, started_here)."""
    bin_ = bindir()
    owner = _owner()
    VAR.mkdir(exist_ok=True)
    SOCKET_DIR.mkdir(exist_ok=True)
    if owner:
        # The server user must reach var/ (and the socket directory) through the checkout.
        for parent in [VAR, *VAR.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
        _chown_tree(SOCKET_DIR, owner)
    if not (DATA / "PG_VERSION").exists():
        DATA.mkdir(exist_ok=True)
        if owner:
            _chown_tree(DATA, owner)
        result = _run(
            [
                str(bin_ / "initdb"),
                "-D",
                str(DATA),
                "-U",
                DB_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
            owner,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"initdb failed:\n{result.stdout}\n{result.stderr}")
    started_here = False
    if _is_running(bin_, owner) and PORT_FILE.exists():
        port = int(PORT_FILE.read_text())
    else:
        port = _free_port()
        PORT_FILE.write_text(str(port))
        if owner:
            LOG.touch()
            _chown_tree(LOG, owner)
        options = (
            f"-p {port} -k {SOCKET_DIR} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=256MB"
        )
        result = _run(
            [
                str(bin_ / "pg_ctl"),
                "-D",
                str(DATA),
                "-l",
                str(LOG),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            owner,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\nsee {LOG}")
        started_here = True
    url = f"postgresql://{DB_USER}@127.0.0.1:{port}/muamalat"
    _ensure_database(bin_, port)
    return url, started_here


def _ensure_database(bin_: Path, port: int) -> None:
    for _attempt in range(50):
        result = subprocess.run(
            [
                str(bin_ / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                DB_USER,
                "-d",
                "postgres",
                "-tAc",
                "SELECT 1 FROM pg_database WHERE datname='muamalat'",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            break
        time.sleep(0.2)
    if result.stdout.strip() != "1":
        subprocess.run(
            [str(bin_ / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER, "muamalat"],
            check=True,
        )


def stop() -> None:
    bin_ = bindir()
    owner = _owner()
    if _is_running(bin_, owner):
        _run(
            [str(bin_ / "pg_ctl"), "-D", str(DATA), "-m", "fast", "-w", "stop"],
            owner,
            capture_output=True,
        )
