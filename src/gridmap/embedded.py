"""gridmap.embedded: the project's own PostgreSQL + PostGIS cluster, used without DATABASE_URL.

The cluster lives in a data directory of the project (``.gridmap/pg``), listens on a unix socket
only (no TCP port is opened), and is run by an unprivileged account because PostgreSQL refuses to
run as root: when gridmap itself runs as root it uses Debian's ``postgres`` account via ``runuser``.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gridmap.errors import EmbeddedClusterError

SUPERUSER = "gridmap"
SERVICE_ACCOUNT = "postgres"
# A unix socket path may not exceed 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


def find_pg_bin() -> Path:
    """Directory of the PostgreSQL server binaries (``initdb``, ``pg_ctl``), newest first."""
    env = os.environ.get("GRIDMAP_PG_BIN")
    candidates = [Path(env)] if env else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise EmbeddedClusterError(
        "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin). "
        "Install them with: apt-get install postgresql-15 postgresql-15-postgis-3 "
        "postgresql-15-pgrouting, or set DATABASE_URL to use an existing server."
    )


def _run_as_service() -> bool:
    return os.geteuid() == 0


def _service_uid_gid() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError as exc:
        raise EmbeddedClusterError(
            f"running as root needs the unprivileged account {SERVICE_ACCOUNT!r} "
            "(Debian's postgresql package creates it)"
        ) from exc
    return entry.pw_uid, entry.pw_gid


def _service_can_reach(path: Path) -> bool:
    """Whether the service account can traverse every folder above ``path``."""
    if not _run_as_service():
        return True
    probe = subprocess.run(
        ["runuser", "-u", SERVICE_ACCOUNT, "--", "test", "-x", str(path)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@dataclass(frozen=True)
class Cluster:
    """One embedded cluster: data directory, socket directory, port, log file."""

    home: Path
    port: int = 5432

    @cached_property
    def base(self) -> Path:
        """Folder holding data and socket: the project's ``home`` when the account can reach it.

        Asking costs a ``runuser`` call, so it is asked once per cluster object.
        """
        if _service_can_reach(self.home.parent):
            return self.home
        # A checkout under a private folder (e.g. /root) is out of the service account's reach.
        digest = hashlib.sha1(str(self.home.resolve()).encode()).hexdigest()[:10]
        return Path("/var/tmp") / f"gridmap-{digest}"

    @property
    def data_dir(self) -> Path:
        """The PostgreSQL data directory."""
        return self.base / "pg"

    @property
    def socket_dir(self) -> Path:
        """Where the unix socket is created."""
        run = self.base / "run"
        if len(str(run)) + len("/.s.PGSQL.") + len(str(self.port)) > _MAX_SOCKET_PATH:
            digest = hashlib.sha1(str(run).encode()).hexdigest()[:10]
            return Path("/tmp") / f"gridmap-{digest}"
        return run

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.base / "pg.log"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` in this cluster."""
        return (
            f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"
        )

    def _cmd(self, *args: str) -> list[str]:
        if _run_as_service():
            return ["runuser", "-u", SERVICE_ACCOUNT, "--", *args]
        return list(args)

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if _run_as_service():
            uid, gid = _service_uid_gid()
            os.chown(path, uid, gid)
        path.chmod(0o700 if path == self.data_dir else 0o755)

    def initialized(self) -> bool:
        """Whether ``initdb`` has run."""
        return (self.data_dir / "PG_VERSION").exists()

    def _make_folders(self) -> None:
        """The base, data and socket folders, owned by the account the server runs as."""
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        self._own(self.data_dir)
        self._own(self.socket_dir)

    def init(self) -> bool:
        """Create the cluster if it does not exist; return whether it was created."""
        if self.initialized():
            return False
        bin_dir = find_pg_bin()
        self._make_folders()
        result = subprocess.run(
            self._cmd(
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedClusterError(f"initdb failed: {result.stderr.strip() or result.stdout}")
        # Unix socket only: nothing listens on the network.
        conf = (
            "\n# gridmap embedded cluster\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            f"port = {self.port}\n"
            "max_connections = 100\n"
            "shared_buffers = 256MB\n"
            "work_mem = 16MB\n"
            "maintenance_work_mem = 256MB\n"
        )
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write(conf)
        return True

    def running(self) -> bool:
        """Whether the server of this data directory is up."""
        if not self.initialized():
            return False
        result = subprocess.run(
            self._cmd(str(find_pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "status"),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def start(self) -> bool:
        """Start the server (initialising it first if needed); return whether it was started."""
        self.init()
        if self.running():
            return False
        # /tmp may have been cleaned since the last start.
        self._own(self.socket_dir)
        if not self.log_file.exists():
            self.log_file.touch()
        if _run_as_service():
            uid, gid = _service_uid_gid()
            os.chown(self.log_file, uid, gid)
        result = subprocess.run(
            self._cmd(
                str(find_pg_bin() / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                f"-k {self.socket_dir} -p {self.port}",
                "start",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = self._log_tail()
            raise EmbeddedClusterError(
                f"could not start PostgreSQL: {result.stderr.strip() or result.stdout.strip()}"
                + (f"\n--- {self.log_file} ---\n{tail}" if tail else "")
            )
        self._wait_ready()
        return True

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait_ready(self, timeout: float = 30.0) -> None:
        isready = find_pg_bin() / "pg_isready"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [str(isready), "-h", str(self.socket_dir), "-p", str(self.port), "-q"],
                check=False,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.2)
        raise EmbeddedClusterError(f"PostgreSQL did not accept connections within {timeout:.0f} s")

    def stop(self) -> bool:
        """Stop the server; return whether it was running."""
        if not self.running():
            return False
        subprocess.run(
            self._cmd(
                str(find_pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"
            ),
            capture_output=True,
            check=True,
        )
        return True

    def destroy(self) -> None:
        """Stop the server and delete its data directory."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


# The primary keeps the WAL its standby still needs in this slot, so the standby never falls off.
REPLICA_SLOT = "gridmap_replica"


def replica_of(primary: Cluster) -> Cluster:
    """The embedded hot standby of ``primary``: ``<home>/replica``, its own socket and port."""
    return Cluster(home=primary.home / "replica", port=primary.port + 1)


def make_replica(primary: Cluster, replica: Cluster, *, slot: str = REPLICA_SLOT) -> bool:
    """Copy ``primary`` into ``replica`` as a streaming hot standby (``pg_basebackup -R -X
    stream`` over the unix socket, through a physical replication slot); return whether it was
    made (False: it exists already)."""
    if replica.initialized():
        return False
    if not primary.running():
        raise EmbeddedClusterError("the primary cluster is not running: gridmap db start")
    bin_dir = find_pg_bin()
    replica._make_folders()
    result = subprocess.run(
        replica._cmd(
            str(bin_dir / "pg_basebackup"),
            "-h",
            str(primary.socket_dir),
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(replica.data_dir),
            "-R",
            "-X",
            "stream",
            "-C",
            "-S",
            slot,
            "-c",
            "fast",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "already exists" in result.stderr:
        # A slot left by an earlier standby: reuse it.
        shutil.rmtree(replica.data_dir, ignore_errors=True)
        replica._own(replica.data_dir)
        result = subprocess.run(
            [a for a in result.args if a != "-C"], capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        shutil.rmtree(replica.data_dir, ignore_errors=True)
        raise EmbeddedClusterError(
            f"pg_basebackup failed: {result.stderr.strip() or result.stdout.strip()}"
        )
    conf = (
        "\n# gridmap embedded hot standby\n"
        "listen_addresses = ''\n"
        f"unix_socket_directories = '{replica.socket_dir}'\n"
        f"port = {replica.port}\n"
        "hot_standby = on\n"
        # Long reads (an export) are not cancelled by the cleanup the primary replays.
        "hot_standby_feedback = on\n"
    )
    with (replica.data_dir / "postgresql.conf").open("a", encoding="utf-8") as fh:
        fh.write(conf)
    return True


def drop_replica(primary: Cluster, replica: Cluster, *, slot: str = REPLICA_SLOT) -> None:
    """Stop and delete the standby and free its slot on the primary (which keeps WAL for it)."""
    replica.destroy()
    if primary.running():
        subprocess.run(
            [
                str(find_pg_bin() / "psql"),
                "-h",
                str(primary.socket_dir),
                "-p",
                str(primary.port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-qAtc",
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                f"WHERE slot_name = '{slot}' AND NOT active",
            ],
            capture_output=True,
            check=False,
        )
