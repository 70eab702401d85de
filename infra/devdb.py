"""Private PostgreSQL clusters under var/ for `make run` and `make test` (stdlib only).

Used when DATABASE_URL is not set. A cluster listens only on its own Unix socket directory and
on a free TCP port of 127.0.0.1, so it never collides with a PostgreSQL already on 5432. The
machine's PostgreSQL binaries are used (pg_config --bindir, or /usr/lib/postgresql/*/bin).
When running as root, a cluster is owned by the `postgres` system user (initdb refuses root).

Two clusters, so the data someone enters under `make run` is never at the mercy of the test
suite's speed settings:

* ``RUN`` (var/pgdata): `make run`'s, with PostgreSQL's durable defaults (fsync, synchronous
  commit, full-page writes).
* ``TEST`` (var/pgtest): `make test`'s and `make bench`'s, with fsync, synchronous commit and
  full-page writes off (a crash may lose it; each run creates and drops its own database).

Three roles in each: ``muamalat`` (initdb's bootstrap superuser, used here only to create the
roles and the database), ``muamalat_owner`` (no superuser; CREATEDB for the test databases; owns
the database and runs the migrations: DATABASE_OWNER_URL) and ``muamalat_app`` (no superuser, owns
nothing, may not create temporary objects: DATABASE_URL of the web server, the workers and the
test bodies).

A var/pgdata made by an earlier version, where the superuser ``muamalat`` owned everything, is
upgraded in place at the next start: the roles are created and the database is recreated owned by
``muamalat_owner`` (pg_dump --no-owner --no-acl restored as the owner; REASSIGN OWNED cannot take
objects away from the bootstrap superuser). The old database is kept as
``muamalat_before_roles`` until you drop it.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
DB_NAME = "muamalat"
BOOTSTRAP_USER = "muamalat"
OWNER_ROLE = "muamalat_owner"
APP_ROLE = "muamalat_app"
BACKUP_NAME = "muamalat_before_roles"
# Only for the test cluster: speed over durability.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass(frozen=True)
class Cluster:
    data: Path
    socket_dir: Path
    port_file: Path
    log: Path
    durable: bool
    shared_buffers: str = "128MB"

    def options(self, port: int) -> str:
        settings = {
            "listen_addresses": "127.0.0.1",
            "max_connections": "200",
            "shared_buffers": self.shared_buffers,
        }
        if not self.durable:
            settings.update(FAST_SETTINGS)
        return f"-p {port} -k {self.socket_dir} " + " ".join(
            f"-c {name}={value}" for name, value in settings.items()
        )


RUN = Cluster(VAR / "pgdata", VAR / "pgsock", VAR / "pgport", VAR / "postgres.log", durable=True)
TEST = Cluster(
    VAR / "pgtest",
    VAR / "pgtestsock",
    VAR / "pgtestport",
    VAR / "postgres-test.log",
    durable=False,
    shared_buffers="256MB",
)


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


def _is_running(bin_: Path, owner: str | None, cluster: Cluster) -> bool:
    if not (cluster.data / "postmaster.pid").exists():
        return False
    result = _run(
        [str(bin_ / "pg_ctl"), "-D", str(cluster.data), "status"], owner, capture_output=True
    )
    return result.returncode == 0


def psql(
    port: int, sql: str, *, user: str = BOOTSTRAP_USER, dbname: str = "postgres", check=True
) -> str:
    """Run SQL on the cluster (TCP on 127.0.0.1, trust authentication); return its output."""
    result = subprocess.run(
        [
            str(bindir() / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            dbname,
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            sql,
        ],
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise SystemExit(f"psql failed ({sql[:80]}…):\n{result.stderr}")
    return result.stdout.strip()


def _directories_prepare(cluster: Cluster, owner: str | None) -> None:
    cluster.data.parent.mkdir(parents=True, exist_ok=True)
    cluster.socket_dir.mkdir(parents=True, exist_ok=True)
    if owner:
        # The server user must reach var/ (and the socket directory) through the checkout.
        for parent in [cluster.data.parent, *cluster.data.parent.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
        _chown_tree(cluster.socket_dir, owner)


def _initdb(bin_: Path, owner: str | None, cluster: Cluster) -> None:
    cluster.data.mkdir(parents=True, exist_ok=True)
    if owner:
        _chown_tree(cluster.data, owner)
    result = _run(
        [
            str(bin_ / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            BOOTSTRAP_USER,
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


def _pg_ctl(bin_: Path, owner: str | None, cluster: Cluster, action: str, port: int) -> None:
    if owner:
        cluster.log.touch()
        _chown_tree(cluster.log, owner)
    result = _run(
        [
            str(bin_ / "pg_ctl"),
            "-D",
            str(cluster.data),
            "-l",
            str(cluster.log),
            "-o",
            cluster.options(port),
            "-w",
            "-t",
            "60",
            *(["-m", "fast"] if action == "restart" else []),
            action,
        ],
        owner,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"pg_ctl {action} failed:\n{result.stdout}\n{result.stderr}\nsee {cluster.log}"
        )


def _wait_ready(port: int) -> None:
    for _attempt in range(100):
        if psql(port, "SELECT 1", check=False) == "1":
            return
        time.sleep(0.2)
    raise SystemExit(f"the private PostgreSQL on port {port} does not answer")


def start(cluster: Cluster = RUN) -> tuple[dict[str, str], bool]:
    """Start (initialising or upgrading if needed) a private cluster.

    Returns ({"DATABASE_URL": app role, "DATABASE_OWNER_URL": owner role}, started_here)."""
    bin_ = bindir()
    owner = _owner()
    _directories_prepare(cluster, owner)
    if not (cluster.data / "PG_VERSION").exists():
        _initdb(bin_, owner, cluster)
    started_here = False
    if _is_running(bin_, owner, cluster) and cluster.port_file.exists():
        port = int(cluster.port_file.read_text())
        _wait_ready(port)
        # A cluster left running by an earlier version may run with other settings (the run
        # cluster used to be started with fsync=off): restart it with this mode's.
        wanted = "on" if cluster.durable else "off"
        if psql(port, "SHOW fsync") != wanted:
            _pg_ctl(bin_, owner, cluster, "restart", port)
            started_here = True
    else:
        port = _free_port()
        cluster.port_file.write_text(str(port))
        _pg_ctl(bin_, owner, cluster, "start", port)
        started_here = True
    _wait_ready(port)
    _roles_and_database_ensure(port)
    base = f"postgresql://{{user}}@127.0.0.1:{port}/{DB_NAME}"
    urls = {
        "DATABASE_URL": base.format(user=APP_ROLE),
        "DATABASE_OWNER_URL": base.format(user=OWNER_ROLE),
    }
    return urls, started_here


def _roles_and_database_ensure(port: int) -> None:
    psql(
        port,
        f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
            CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER CREATEDB NOCREATEROLE;
        END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
        END IF;
        END $$""",
    )
    current_owner = psql(
        port,
        f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{DB_NAME}'",
    )
    if not current_owner:
        psql(port, f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE}")
    elif current_owner != OWNER_ROLE:
        _upgrade_database(port)
    # No temporary objects for the app role (PostgreSQL grants TEMPORARY to PUBLIC): they could
    # shadow catalogs in the owner's SECURITY DEFINER clone (tenants/dbroles.py). The grants
    # step does the same in every database it runs in (the test databases too).
    psql(port, f"REVOKE TEMPORARY ON DATABASE {DB_NAME} FROM PUBLIC, {APP_ROLE}")


def _upgrade_database(port: int) -> None:
    """The database of an earlier version, owned by the bootstrap superuser: recreate it owned
    by the owner role (every object too), keeping the old one as BACKUP_NAME."""
    print(
        f"[muamalat] upgrading the private database: objects move to {OWNER_ROLE}, "
        f"the old database stays as {BACKUP_NAME}",
        flush=True,
    )
    staging = f"{DB_NAME}_roles_upgrade"
    psql(port, f"DROP DATABASE IF EXISTS {staging}")
    psql(port, f"CREATE DATABASE {staging} OWNER {OWNER_ROLE}")
    common = ["-h", "127.0.0.1", "-p", str(port)]
    dump = subprocess.Popen(
        [
            str(bindir() / "pg_dump"),
            *common,
            "-U",
            BOOTSTRAP_USER,
            "--no-owner",
            "--no-acl",
            DB_NAME,
        ],
        stdout=subprocess.PIPE,
    )
    restore = subprocess.run(
        [
            str(bindir() / "psql"),
            *common,
            "-U",
            OWNER_ROLE,
            "-d",
            staging,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
        ],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
    )
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        psql(port, f"DROP DATABASE IF EXISTS {staging}", check=False)
        raise SystemExit(f"upgrading the private database failed:\n{restore.stderr}")
    psql(port, f"DROP DATABASE IF EXISTS {BACKUP_NAME}")
    psql(port, f"ALTER DATABASE {DB_NAME} RENAME TO {BACKUP_NAME}")
    psql(port, f"ALTER DATABASE {staging} RENAME TO {DB_NAME}")


def stop(cluster: Cluster | None = None) -> None:
    bin_ = bindir()
    owner = _owner()
    for each in [cluster] if cluster else [RUN, TEST]:
        if _is_running(bin_, owner, each):
            _run(
                [str(bin_ / "pg_ctl"), "-D", str(each.data), "-m", "fast", "-w", "stop"],
                owner,
                capture_output=True,
            )
