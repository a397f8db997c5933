"""gridmap.backup: base backups and a WAL archive of the embedded cluster; point-in-time restore.

The embedded cluster archives every finished WAL segment into ``<home>/wal`` (``archive_mode``
turned on with ``ALTER SYSTEM``, which needs one restart). A backup is ``pg_basebackup -Ft -z
-X fetch`` over the unix socket into ``<home>/backups/<time>/base.tar.gz`` with a ``backup.json``
beside it. A restore unpacks a backup into a new data directory, replays the archive up to a time
(or to its end), promotes the cluster and leaves it running on its own socket, so the original
cluster is never touched.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from gridmap.embedded import SERVICE_ACCOUNT, SUPERUSER, Cluster, find_pg_bin
from gridmap.errors import EmbeddedClusterError, InvalidInput

BACKUP_FILE = "base.tar.gz"
LABEL_FILE = "backup.json"
# At most this long between a commit and the archive holding it while the cluster is idle.
ARCHIVE_TIMEOUT = "60s"


@dataclass(frozen=True)
class Backup:
    """A base backup: its folder, when it was taken, the WAL position it starts at, where its
    cluster archives WAL, and its size in bytes."""

    path: Path
    taken_at: datetime
    start_lsn: str
    wal_dir: Path
    size: int


def wal_dir(cluster: Cluster) -> Path:
    """Where ``cluster`` archives its WAL segments."""
    return cluster.base / "wal"


def backups_dir(cluster: Cluster) -> Path:
    """Where ``gridmap db backup`` puts backups unless told otherwise."""
    return cluster.base / "backups"


def _as_service(args: list[str]) -> list[str]:
    """``args`` run as the service account when gridmap runs as root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVICE_ACCOUNT, "--", *args]
    return args


def _owned_dir(path: Path, mode: int = 0o700) -> None:
    """Make ``path`` (and its parents) and give it to the service account."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVICE_ACCOUNT)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(mode)


def _reachable(path: Path) -> bool:
    """Whether the service account can traverse the nearest existing folder at ``path``."""
    while not path.exists():
        path = path.parent
    probe = subprocess.run(_as_service(["test", "-x", str(path)]), capture_output=True, check=False)
    return probe.returncode == 0


def _run(args: list[str], what: str) -> str:
    result = subprocess.run(_as_service(args), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EmbeddedClusterError(f"{what} failed: {result.stderr.strip() or result.stdout}")
    return result.stdout


def connect(cluster: Cluster, database: str = "postgres") -> psycopg.Connection[Any]:
    """An autocommit connection to ``database`` of ``cluster`` over its socket."""
    return psycopg.connect(
        host=str(cluster.socket_dir),
        port=cluster.port,
        user=SUPERUSER,
        dbname=database,
        autocommit=True,
    )


def archive_command(cluster: Cluster) -> str:
    """The ``archive_command`` copying a finished segment into :func:`wal_dir`, never over one."""
    target = wal_dir(cluster)
    return f"test ! -f '{target}/%f' && cp '%p' '{target}/%f'"


def enable_archiving(cluster: Cluster) -> bool:
    """Turn WAL archiving on (restarting the cluster when it was off); return whether it
    changed anything."""
    _owned_dir(wal_dir(cluster))
    cluster.start()
    with connect(cluster) as conn:
        mode = conn.execute("SHOW archive_mode").fetchone()
        command = conn.execute("SHOW archive_command").fetchone()
        if mode and mode[0] == "on" and command and command[0] == archive_command(cluster):
            return False
        conn.execute("ALTER SYSTEM SET archive_mode = 'on'")
        # ALTER SYSTEM takes no parameters: the server quotes the command as a literal.
        literal = conn.execute("SELECT quote_literal(%s)", [archive_command(cluster)]).fetchone()
        conn.execute(f"ALTER SYSTEM SET archive_command = {literal[0] if literal else 'NULL'}")
        conn.execute(f"ALTER SYSTEM SET archive_timeout = '{ARCHIVE_TIMEOUT}'")
    # archive_mode is read at server start only.
    cluster.stop()
    cluster.start()
    return True


def switch_wal(cluster: Cluster, *, timeout: float = 30.0) -> str:
    """Close the current WAL segment and wait until the archive holds it; return its name.

    What was committed before the call can then be restored from the archive.
    """
    with connect(cluster) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        name = str(row[0]) if row else ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"
            ).fetchone()
            if done and done[0][:24] >= name:
                return name
            time.sleep(0.1)
    raise EmbeddedClusterError(
        f"WAL segment {name} was not archived within {timeout:.0f} s; see {cluster.log_file}"
    )


def take_backup(cluster: Cluster, dest: Path | None = None) -> Backup:
    """A base backup of the whole cluster (archiving turned on first), into ``dest`` or a new
    folder under :func:`backups_dir`."""
    enable_archiving(cluster)
    taken_at = datetime.now(UTC)
    if dest is None:
        dest = backups_dir(cluster) / taken_at.strftime("%Y%m%dT%H%M%SZ")
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInput(f"{dest} is not empty: a backup goes into a new or empty folder")
    if not _reachable(dest.parent):
        raise InvalidInput(
            f"the {SERVICE_ACCOUNT} account cannot reach {dest.parent}: choose a folder outside "
            "private home folders (e.g. under /var/backups)"
        )
    if not dest.parent.exists():
        _owned_dir(dest.parent, 0o755)
    _owned_dir(dest)
    _run(
        [
            str(find_pg_bin() / "pg_basebackup"),
            "-D",
            str(dest),
            "-Ft",
            "-z",
            "-X",
            "fetch",
            "-c",
            "fast",
            "-h",
            str(cluster.socket_dir),
            "-p",
            str(cluster.port),
            "-U",
            SUPERUSER,
        ],
        "pg_basebackup",
    )
    # The segment the backup ended in goes to the archive now, not at the next timeout.
    switch_wal(cluster)
    start_lsn = ""
    manifest = dest / "backup_manifest"
    if manifest.exists():
        ranges = json.loads(manifest.read_text()).get("WAL-Ranges") or [{}]
        start_lsn = str(ranges[0].get("Start-LSN", ""))
    size = sum(p.stat().st_size for p in dest.iterdir() if p.is_file())
    backup = Backup(dest, taken_at, start_lsn, wal_dir(cluster), size)
    (dest / LABEL_FILE).write_text(
        json.dumps(
            {
                "taken_at": taken_at.isoformat(),
                "start_lsn": start_lsn,
                "wal_dir": str(backup.wal_dir),
                "size": size,
            },
            indent=2,
        )
    )
    return backup


def read_backup(path: Path) -> Backup:
    """The backup in folder ``path``."""
    label = path / LABEL_FILE
    if not (path / BACKUP_FILE).exists() or not label.exists():
        raise InvalidInput(f"{path} holds no gridmap backup ({BACKUP_FILE} and {LABEL_FILE})")
    info = json.loads(label.read_text())
    return Backup(
        path,
        datetime.fromisoformat(info["taken_at"]),
        str(info.get("start_lsn", "")),
        Path(info["wal_dir"]),
        int(info.get("size", 0)),
    )


def restore(
    backup: Backup,
    *,
    to: Path,
    until: datetime | None = None,
    port: int = 5432,
    timeout: float = 120.0,
) -> Cluster:
    """Unpack ``backup`` into a new cluster at ``to``, replay the archive up to ``until`` (a
    time; its end when None), promote it and return it running.

    The restored cluster does not archive (it would write into the original's archive) and
    listens on a socket of its own.
    """
    if until is not None and until.tzinfo is None:
        raise InvalidInput("the time to restore to needs a time zone")
    if until is not None and until < backup.taken_at:
        raise InvalidInput(
            f"{until.isoformat()} is before the backup was taken ({backup.taken_at.isoformat()}):"
            " restore an older backup"
        )
    target = Cluster(home=to, port=port)
    if target.data_dir.exists() and any(target.data_dir.iterdir()):
        raise InvalidInput(f"{target.data_dir} is not empty: a restore goes into a new folder")
    if not target.base.exists():
        target.base.mkdir(parents=True)
        target.base.chmod(0o755)
    _owned_dir(target.data_dir)
    _run(["tar", "-xzf", str(backup.path / BACKUP_FILE), "-C", str(target.data_dir)], "unpacking")
    settings = [
        f'restore_command = \'cp "{backup.wal_dir}/%f" "%p"\'',
        "recovery_target_action = 'promote'",
        "archive_mode = 'off'",
    ]
    if until is not None:
        settings.append(f"recovery_target_time = '{until.isoformat()}'")
    auto = target.data_dir / "postgresql.auto.conf"
    with auto.open("a", encoding="utf-8") as fh:
        fh.write("\n# gridmap db restore\n" + "\n".join(settings) + "\n")
    (target.data_dir / "recovery.signal").touch()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVICE_ACCOUNT)
        for path in (auto, target.data_dir / "recovery.signal"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    target.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with connect(target) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and not row[0]:
                    return target
        except psycopg.OperationalError:
            pass
        time.sleep(0.2)
    raise EmbeddedClusterError(
        f"the restored cluster did not finish recovery within {timeout:.0f} s; see "
        f"{target.log_file}"
    )


def remove(cluster: Cluster) -> None:
    """Stop ``cluster`` and delete everything of it (a restored copy no longer needed)."""
    cluster.destroy()
    shutil.rmtree(cluster.base, ignore_errors=True)
