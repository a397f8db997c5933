"""Backups: a base backup plus the WAL archive restore a cluster to a moment, or to the end."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridmap import backup
from gridmap.cli import app
from gridmap.embedded import Cluster
from gridmap.errors import InvalidInput

# Sockets of their own (one folder each), so the port need not differ from the main cluster's.
PORT = 5432


@pytest.fixture(scope="module")
def primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A throwaway cluster (no PostGIS needed) with a table of numbered rows."""
    cluster = Cluster(home=tmp_path_factory.mktemp("backup") / "primary", port=PORT)
    cluster.start()
    with backup.connect(cluster) as conn:
        conn.execute("CREATE TABLE note (n int PRIMARY KEY, at timestamptz DEFAULT now())")
    yield cluster
    backup.remove(cluster)


def write(cluster: Cluster, numbers: range) -> datetime:
    """Commit one row per number; return the server's clock after the commit."""
    with backup.connect(cluster) as conn:
        conn.execute(
            "INSERT INTO note (n) SELECT generate_series(%s::int, %s::int)",
            [numbers[0], numbers[-1]],
        )
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]


def numbers(cluster: Cluster) -> list[int]:
    """The rows of ``note`` in ``cluster``."""
    with backup.connect(cluster) as conn:
        return [r[0] for r in conn.execute("SELECT n FROM note ORDER BY n").fetchall()]


@pytest.fixture
def folder(primary: Cluster) -> Iterator[Path]:
    """A folder the cluster's service account can reach, for backups and restores."""
    path = primary.base.parent / f"{primary.base.name}-{time.time_ns()}"
    path.mkdir(mode=0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_restore_to_a_time_and_to_the_end(primary: Cluster, folder: Path) -> None:
    tmp_path = folder
    write(primary, range(1, 4))
    taken = backup.take_backup(primary, tmp_path / "base")
    with backup.connect(primary) as conn:
        archive_mode = conn.execute("SHOW archive_mode").fetchone()
    assert archive_mode == ("on",)
    assert (taken.path / backup.BACKUP_FILE).stat().st_size > 0
    assert backup.read_backup(taken.path).wal_dir == backup.wal_dir(primary)

    between = write(primary, range(4, 7))
    time.sleep(1.1)
    write(primary, range(7, 10))
    backup.switch_wal(primary)
    assert numbers(primary) == list(range(1, 10))

    at_time = backup.restore(taken, to=tmp_path / "at-time", until=between)
    try:
        assert numbers(at_time) == list(range(1, 7))
        with backup.connect(at_time) as conn:
            # The copy is promoted (writable) and does not archive into the original's archive.
            conn.execute("INSERT INTO note (n) VALUES (100)")
            assert conn.execute("SHOW archive_mode").fetchone() == ("off",)
    finally:
        backup.remove(at_time)

    at_end = backup.restore(taken, to=tmp_path / "at-end")
    try:
        assert numbers(at_end) == list(range(1, 10))
    finally:
        backup.remove(at_end)
    # The original went on untouched.
    assert numbers(primary) == list(range(1, 10))


def test_refusals_write_nothing(primary: Cluster, folder: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot reach"):
        backup.take_backup(primary, tmp_path / "private")
    with pytest.raises(InvalidInput):
        backup.read_backup(tmp_path)
    taken = backup.take_backup(primary, folder / "b")
    with pytest.raises(InvalidInput, match="before the backup"):
        backup.restore(taken, to=folder / "r", until=taken.taken_at - timedelta(hours=1))
    with pytest.raises(InvalidInput, match="time zone"):
        backup.restore(taken, to=folder / "r", until=datetime(2030, 1, 1))
    assert not (folder / "r").exists()
    with pytest.raises(InvalidInput, match="not empty"):
        backup.take_backup(primary, folder / "b")


def test_cli_restore_refuses_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["db", "restore", str(tmp_path), "--to", str(tmp_path / "x")])
    assert missing.exit_code == 2
    assert "holds no gridmap backup" in missing.output
    (tmp_path / backup.BACKUP_FILE).write_bytes(b"")
    (tmp_path / backup.LABEL_FILE).write_text(
        '{"taken_at": "2026-01-01T00:00:00+00:00", "wal_dir": "/nowhere"}'
    )
    bad_time = runner.invoke(
        app, ["db", "restore", str(tmp_path), "--to", str(tmp_path / "x"), "--until", "yesterday'"]
    )
    assert bad_time.exit_code == 2
    assert "--until" in bad_time.output
    assert not (tmp_path / "x").exists()
