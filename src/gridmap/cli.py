"""gridmap.cli: the ``gridmap`` command (typer)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gridmap.database import database_url, embedded_cluster, ensure_database, make_engine
from gridmap.errors import GridmapError
from gridmap.loader import LoadReport
from gridmap.settings import Settings, get_settings

app = typer.Typer(
    help="gridmap: grids, lookup, incidents and coverage on PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="The embedded PostgreSQL + PostGIS cluster.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def _fail(exc: GridmapError) -> None:
    err.print(f"[bold red]error:[/] {exc.message}")
    raise typer.Exit(code=1)


def _ensure_db(settings: Settings) -> str:
    """Start the embedded cluster (when no DATABASE_URL) and make sure the database exists."""
    if settings.db.url is None:
        cluster = embedded_cluster(settings.db)
        if cluster.start():
            console.print(f"started the embedded PostgreSQL in {cluster.data_dir}")
    ensure_database(settings.db, _db_name(settings))
    return database_url(settings.db)


def _db_name(settings: Settings) -> str:
    if settings.db.url is not None:
        return settings.db.url.path.lstrip("/") if settings.db.url.path else "postgres"
    return settings.db.embedded_db


@db_app.command("start")
def db_start() -> None:
    """Start the embedded cluster (creating it on first use)."""
    settings = get_settings()
    if settings.db.url is not None:
        console.print("DATABASE_URL is set: gridmap uses that server, nothing to start")
        return
    try:
        cluster = embedded_cluster(settings.db)
        started = cluster.start()
        ensure_database(settings.db, settings.db.embedded_db)
    except GridmapError as exc:
        _fail(exc)
    console.print(
        ("started" if started else "already running") + f": {cluster.data_dir} "
        f"(socket {cluster.socket_dir})"
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    settings = get_settings()
    if settings.db.url is not None:
        console.print("DATABASE_URL is set: the embedded cluster is not in use")
        return
    cluster = embedded_cluster(settings.db)
    console.print("stopped" if cluster.stop() else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say where the database is and whether it is up."""
    settings = get_settings()
    if settings.db.url is not None:
        console.print(f"external database: {settings.db.url.host}/{_db_name(settings)}")
        return
    cluster = embedded_cluster(settings.db)
    state = (
        "running"
        if cluster.running()
        else ("stopped" if cluster.initialized() else "not created yet")
    )
    console.print(f"embedded cluster {state}: {cluster.data_dir} (socket {cluster.socket_dir})")
    if state != "running":
        raise typer.Exit(code=3)


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
    down: Annotated[bool, typer.Option(help="downgrade to the revision instead")] = False,
) -> None:
    """Apply the database migrations (or revert them with --down)."""
    from gridmap import migrate as m

    try:
        url = _ensure_db(get_settings())
    except GridmapError as exc:
        _fail(exc)
    if down:
        m.downgrade(url, "base" if revision == "head" else revision)
    else:
        m.upgrade(url, revision)
    console.print(f"database at {'base' if down and revision == 'head' else revision}")


def _print_report(report: LoadReport) -> None:
    table = Table(
        title=f"data set {report.name} ({'committed' if report.committed else 'dry run'})"
    )
    for col in ("table", "inserted", "updated", "unchanged"):
        table.add_column(col, justify="right" if col != "table" else "left")
    for name, change in report.tables.items():
        table.add_row(name, str(change.inserted), str(change.updated), str(change.unchanged))
    console.print(table)


def _load(settings: Settings, path: Path, commit: bool) -> None:
    from gridmap import migrate as m
    from gridmap.loader import load_dataset

    url = _ensure_db(settings)
    m.upgrade(url)
    engine = make_engine(url, pool_size=1)
    try:
        with console.status("loading…") as status:
            report = load_dataset(
                engine, path, commit=commit, progress=lambda msg: status.update(f"loading {msg}…")
            )
    finally:
        engine.dispose()
    _print_report(report)
    if not commit:
        console.print("nothing written; run again with --commit to apply")
    elif report.changed == 0:
        console.print("already up to date: nothing changed")


@app.command()
def load(
    path: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="data set folder")],
    commit: Annotated[bool, typer.Option(help="write the changes (default: report only)")] = False,
) -> None:
    """Load a data set folder (like data/boundaries/); reports only, unless --commit."""
    try:
        _load(get_settings(), path, commit)
    except GridmapError as exc:
        _fail(exc)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from gridmap.main import create_app

    console.print(
        f"[bold green]gridmap is serving the map at http://{host}:{port}/[/] (Ctrl-C to stop)"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port (default $PORT or 8000)")] = None,
) -> None:
    """Serve the API and the map."""
    settings = get_settings()
    try:
        _ensure_db(settings)
    except GridmapError as exc:
        _fail(exc)
    _serve(settings, host or settings.api.host, port or settings.api.port)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port (default $PORT or 8000)")] = None,
) -> None:
    """Start the database, migrate, load the Haidian demo data and serve the map."""
    settings = get_settings()
    try:
        _load(settings, settings.api.data_dir, commit=True)
    except GridmapError as exc:
        _fail(exc)
    # Ctrl-C stops uvicorn cleanly; make SIGTERM do the same.
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    _serve(settings, host or settings.api.host, port or settings.api.port)


if __name__ == "__main__":
    app()
