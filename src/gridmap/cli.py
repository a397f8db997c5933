"""gridmap.cli: the ``gridmap`` command (typer)."""

from __future__ import annotations

import getpass
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from gridmap.database import (
    database_url,
    embedded_cluster,
    embedded_replica,
    ensure_database,
    make_engine,
)
from gridmap.errors import GridmapError, InvalidInput, NotFound, RegionNotFound
from gridmap.loader import LoadReport
from gridmap.settings import Settings, get_settings

if TYPE_CHECKING:
    from gridmap.files import Format

app = typer.Typer(
    help=(
        "gridmap: grids, lookup, incidents and coverage on PostGIS.\n\n"
        "Exit codes: 0 done; 1 failed, or found what it checks for; 2 bad input (a file, an "
        "option, a region that does not exist)."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="The embedded PostgreSQL + PostGIS cluster.", no_args_is_help=True)
app.add_typer(db_app, name="db")
incidents_app = typer.Typer(help="Incidents in bulk.", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")
circles_app = typer.Typer(help="15-minute service circles.", no_args_is_help=True)
app.add_typer(circles_app, name="circles")
token_app = typer.Typer(
    help="Bearer tokens for the API, issued to an office, a person or a department.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")
department_app = typer.Typer(
    help="Departments that answer whistles (吹哨) and may hold tokens.", no_args_is_help=True
)
app.add_typer(department_app, name="department")
patrols_app = typer.Typer(help="Patrols (巡查) and their coverage.", no_args_is_help=True)
app.add_typer(patrols_app, name="patrols")
pool_app = typer.Typer(help="The street pool's window (抢单 → 派单).", no_args_is_help=True)
app.add_typer(pool_app, name="pool")
console = Console()
err = Console(stderr=True)


def _fail(exc: GridmapError) -> NoReturn:
    """Say what went wrong in one line and exit: 2 when what was given is wrong, else 1."""
    err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    raise typer.Exit(code=2 if isinstance(exc, InvalidInput | NotFound) else 1)


def _print_table(table: Table) -> None:
    """A table on a terminal; tab-separated lines, header first, when the output goes to a file
    or a pipe, where a table would be cut to 80 columns and codes shown as "110108…"."""
    if console.is_terminal:
        # Codes keep their width when the terminal has room for them and a few characters of
        # every other column (borders take 3 a column); whatever is too wide folds, never cuts.
        widths = [
            max((len(w) for c in col.cells for w in str(c).split() if w.isdigit()), default=0)
            for col in table.columns
        ]
        room = sum(max(w, 5) + 3 for w in widths) + 1 <= console.width
        for column, width in zip(table.columns, widths, strict=True):
            column.overflow = "fold"
            if room and width:
                column.min_width = width
        console.print(table)
        return
    # Plain writes: rich would expand the tabs into spaces.
    if table.title:
        typer.echo(str(table.title), err=True)
    typer.echo("\t".join(str(c.header) for c in table.columns))
    for row in zip(*(c.cells for c in table.columns), strict=True):
        typer.echo("\t".join(str(cell) for cell in row))


def _require_place(session: Session, code: str, *, grids: bool = False) -> str:
    """The kind of the region (or, with ``grids``, grid) ``code``; an error when none exists."""
    from gridmap.queries.places import place_kind

    kind = place_kind(session, code)
    if kind is None or (kind == "grid" and not grids):
        raise RegionNotFound(
            f"no region {code}: give the code of a district (6 digits), street (9) or "
            f"community (12)" + (" or a grid" if grids else "") + " that exists"
        )
    return kind


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
        from sqlalchemy import make_url

        return make_url(settings.db.url).database or "postgres"
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
        from sqlalchemy import make_url

        url = make_url(settings.db.url)
        where = url.host or url.query.get("host") or "local socket"
        console.print(f"external database: {where}/{_db_name(settings)}")
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


replica_app = typer.Typer(
    help="A hot standby of the embedded cluster, for GRIDMAP_READ_DATABASE_URL.",
    no_args_is_help=True,
)
db_app.add_typer(replica_app, name="replica")


def _embedded_or_exit(settings: Settings) -> None:
    if settings.db.url is not None:
        console.print(
            "DATABASE_URL is set: make the standby of that server with its own tools and give "
            "its URL as GRIDMAP_READ_DATABASE_URL"
        )
        raise typer.Exit(code=2)


@replica_app.command("start")
def replica_start() -> None:
    """Make the standby (pg_basebackup from the running primary) on first use, and start it."""
    from gridmap.embedded import make_replica

    settings = get_settings()
    _embedded_or_exit(settings)
    primary = embedded_cluster(settings.db)
    replica = embedded_replica(settings.db)
    try:
        primary.start()
        made = make_replica(primary, replica)
        started = replica.start()
    except GridmapError as exc:
        _fail(exc)
    what = "made and started" if made else ("started" if started else "already running")
    console.print(f"read replica {what}: {replica.data_dir} (socket {replica.socket_dir})")
    typer.echo(f"GRIDMAP_READ_DATABASE_URL={replica.url(settings.db.embedded_db)}")


@replica_app.command("stop")
def replica_stop(
    remove: Annotated[
        bool, typer.Option(help="also delete it and free its slot (the primary keeps WAL for it)")
    ] = False,
) -> None:
    """Stop the standby (and with --remove delete it)."""
    from gridmap.embedded import drop_replica

    settings = get_settings()
    _embedded_or_exit(settings)
    primary = embedded_cluster(settings.db)
    replica = embedded_replica(settings.db)
    if remove:
        drop_replica(primary, replica)
        console.print("read replica stopped and removed")
        return
    console.print("read replica stopped" if replica.stop() else "read replica not running")


@replica_app.command("status")
def replica_status() -> None:
    """Whether the standby runs, and how far it is behind the primary."""
    from gridmap.replica import ReadRouter

    settings = get_settings()
    _embedded_or_exit(settings)
    replica = embedded_replica(settings.db)
    if not replica.running():
        state = "stopped" if replica.initialized() else "not made yet (gridmap db replica start)"
        console.print(f"read replica {state}")
        raise typer.Exit(code=3)
    engine = make_engine(replica.url(settings.db.embedded_db), pool_size=1)
    try:
        with _session(settings) as session:
            info = ReadRouter(engine).status(session)
    finally:
        engine.dispose()
    assert info is not None
    console.print(
        f"read replica {info['state']}: {info['lag_bytes']} bytes, {info['lag_seconds']} s "
        f"behind ({replica.data_dir}, socket {replica.socket_dir})"
    )
    typer.echo(f"GRIDMAP_READ_DATABASE_URL={replica.url(settings.db.embedded_db)}")


# Backups of the embedded cluster: a base backup plus the WAL archive, restored to a time.
@db_app.command("backup")
def db_backup(
    to: Annotated[
        Path | None, typer.Option(help="an empty folder (default: <home>/backups/<time>)")
    ] = None,
) -> None:
    """Take a base backup of the embedded cluster (turning WAL archiving on first, with one
    restart), so it can be restored to any later time the archive covers."""
    from gridmap import backup

    settings = get_settings()
    if settings.db.url is not None:
        console.print("DATABASE_URL is set: back that server up with its own tools")
        raise typer.Exit(code=2)
    try:
        cluster = embedded_cluster(settings.db)
        taken = backup.take_backup(cluster, to)
    except GridmapError as exc:
        _fail(exc)
    console.print(
        f"backup {taken.path} ({taken.size / 1e6:.1f} MB, from {taken.start_lsn or 'start'}); "
        f"WAL archived in {taken.wal_dir}"
    )


@db_app.command("restore")
def db_restore(
    backup_dir: Annotated[Path, typer.Argument(metavar="BACKUP", help="a backup's folder")],
    to: Annotated[Path, typer.Option(help="a new folder for the restored cluster")],
    until: Annotated[
        str | None,
        typer.Option(help="restore to this time (ISO 8601; local time zone when none given)"),
    ] = None,
    port: Annotated[int, typer.Option(help="the restored cluster's port (its socket name)")] = 5432,
) -> None:
    """Start a cluster restored from BACKUP in a new folder, replayed to --until (default: to
    the end of the WAL archive); the running cluster is not touched."""
    from zoneinfo import ZoneInfo

    from gridmap import backup

    settings = get_settings()
    try:
        taken = backup.read_backup(backup_dir)
        target_time = None
        if until is not None:
            try:
                target_time = datetime.fromisoformat(until)
            except ValueError:
                raise InvalidInput(
                    f"--until {until!r} is not a time: give e.g. 2026-03-01T09:30:00+08:00",
                    field="until",
                ) from None
            if target_time.tzinfo is None:
                target_time = target_time.replace(tzinfo=ZoneInfo(settings.api.timezone))
        restored = backup.restore(taken, to=to, until=target_time, port=port)
    except GridmapError as exc:
        _fail(exc)
    console.print(
        f"restored and running: {restored.data_dir} (socket {restored.socket_dir}, port "
        f"{restored.port}); URL {restored.url(settings.db.embedded_db)}"
    )


@contextmanager
def _session(settings: Settings | None = None) -> Iterator[Session]:
    """A session on the migrated database, committed when the block ends without error."""
    from gridmap import migrate as m

    settings = settings or get_settings()
    url = _ensure_db(settings)
    m.upgrade(url)
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


@department_app.command("add")
def department_add(
    code: Annotated[str, typer.Argument(help="its code, e.g. cgzf")],
    name: Annotated[str, typer.Option(help="its name, e.g. 城管执法队")],
    region: Annotated[str, typer.Option(help="the district or street it belongs to")],
    kind: Annotated[
        str | None,
        typer.Option(help="its kind as the whistle list names it, e.g. 城管执法 (default: name)"),
    ] = None,
) -> None:
    """Add a department of a district or a street."""
    from gridmap.services.departments import add_department

    try:
        with _session() as session:
            level = add_department(session, code=code, name=name, region=region, kind=kind)
    except GridmapError as exc:
        _fail(exc)
    console.print(f"department {code} ({name}), {level} {region}")


@department_app.command("list")
def department_list() -> None:
    """List the departments."""
    from gridmap.queries.departments import all_departments

    with _session() as session:
        rows = all_departments(session)
    table = Table()
    for col in ("code", "name", "level", "region", "kind", "active"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["code"], r["name"], r["level"], r["region_code"], r["kind"], str(r["active"]).lower()
        )
    _print_table(table)


@pool_app.command("close")
def pool_close(
    auto_dispatch: Annotated[
        bool | None,
        typer.Option(
            help="dispatch to the street at once (default: the pool_auto_dispatch setting)"
        ),
    ] = None,
) -> None:
    """Close every pool window due now, once (the server does this by itself every few
    seconds); prints how many incidents moved."""
    from gridmap.queries.incidents import clock
    from gridmap.services.pool import close_windows

    settings = get_settings()
    api = settings.api
    with _session(settings) as session:
        moved = close_windows(
            session,
            now=clock(session),
            auto_dispatch=api.pool_auto_dispatch if auto_dispatch is None else auto_dispatch,
            timezone=api.timezone,
            day_start=api.working_day_start,
            day_end=api.working_day_end,
        )
    console.print(f"{moved} incident(s) moved on from the pool")


@token_app.command("create")
def token_create(
    role: Annotated[
        str | None,
        typer.Option(
            help="an office token's role: admin, district, street, community, worker, viewer"
        ),
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="the region code an office token acts in (none for admin)")
    ] = None,
    staff: Annotated[
        str | None,
        typer.Option(
            help="a grid staff member (person id or name): a worker in every grid they serve"
        ),
    ] = None,
    party_member: Annotated[
        str | None, typer.Option(help="a Party member (person id or name): acts as that member")
    ] = None,
    department: Annotated[str | None, typer.Option(help="a department's code")] = None,
    party_org: Annotated[
        str | None,
        typer.Option(
            help="a Party organisation (id or code), for its secretary: acts on its grids"
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="who holds it (default: the person, department or office)")
    ] = None,
    days: Annotated[int | None, typer.Option(min=1, help="expires after this many days")] = None,
) -> None:
    """Make a token for an office, a person or a department, and print its secret (shown this
    once; only its hash is kept)."""
    from gridmap.auth import Holder, create_token, find_person, token_principal

    given = [
        o
        for o, v in (
            ("--role", role),
            ("--staff", staff),
            ("--party-member", party_member),
            ("--department", department),
            ("--party-org", party_org),
        )
        if v is not None
    ]
    if len(given) != 1:
        _fail(
            InvalidInput(
                "say whom the token is for with one of --role (an office, with --region), --staff, "
                "--party-member, --party-org or --department"
            )
        )
    from gridmap.auth import check_role_region, find_org

    try:
        if role is not None:
            check_role_region(role, region)
        with _session() as session:
            if region is not None:
                # A viewer's token may be bound to a grid.
                _require_place(session, region, grids=True)
            if staff is not None:
                holder = Holder("staff", person=find_person(session, staff))
            elif party_member is not None:
                holder = Holder("party_member", person=find_person(session, party_member))
            elif department is not None:
                holder = Holder("department", department=department)
            elif party_org is not None:
                holder = Holder("party_org", org=find_org(session, party_org))
            else:
                holder = Holder("office", role=role, region=region)
            secret, token_id = create_token(session, holder=holder, name=name, days=days)
            principal = token_principal(session, token_id)
    except GridmapError as exc:
        _fail(exc)
    err.print(f"token {token_id}: {principal.actor}; keep the secret safe:")
    console.print(secret)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from gridmap.auth import list_tokens

    with _session() as session:
        rows = list_tokens(session)
    table = Table()
    for col in ("id", "name", "holder", "role", "acts in", "state"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["name"]),
            str(r["holder_kind"]),
            str(r["role"]),
            str(r["acts_in"] or "(everywhere)"),
            _token_state(r),
        )
    _print_table(table)


def _token_state(row: dict[str, Any]) -> str:
    """A token's state in words: revoked, expired, or live (until when, last used when)."""
    if row["revoked_at"] is not None:
        return f"revoked {row['revoked_at']:%Y-%m-%d %H:%M}"
    expires = row["expires_at"]
    if expires is not None and expires <= datetime.now(expires.tzinfo):
        return f"expired {expires:%Y-%m-%d}"
    words = ["live"]
    if expires is not None:
        words.append(f"until {expires:%Y-%m-%d}")
    if row["last_used_at"] is not None:
        words.append(f"used {row['last_used_at']:%Y-%m-%d %H:%M}")
    return ", ".join(words)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the token's id")]) -> None:
    """Revoke a token at once."""
    from gridmap.auth import revoke_token

    with _session() as session:
        done = revoke_token(session, token_id)
    if not done:
        err.print(f"[bold red]error:[/] no live token {token_id}")
        raise typer.Exit(code=1)
    console.print(f"token {token_id} revoked")


def _rules(settings: Settings) -> Any:
    from gridmap.geo.rules import GridRules

    return GridRules.from_settings(settings.api)


@app.command()
def validate(
    region: Annotated[str, typer.Argument(help="a community, street or district code")],
    as_json: Annotated[bool, typer.Option("--json", help="print the full reports as JSON")] = False,
) -> None:
    """Check that the grids of each community in REGION cover it with no gap or overlap.

    Exits 1 when any community is not exactly covered.
    """
    from gridmap.queries.coverage import community_coverage
    from gridmap.queries.grids import gridded_communities

    settings = get_settings()
    try:
        with _session(settings) as session:
            _require_place(session, region)
            communities = gridded_communities(session, region=region)
            if not communities:
                raise GridmapError(f"no gridded community in region {region}")
            reports = []
            with _progress() as bar:
                task = bar.add_task("checking coverage", total=len(communities))
                for code in communities:
                    reports.append(
                        community_coverage(session, community=code, rules=_rules(settings))
                    )
                    bar.advance(task)
    except GridmapError as exc:
        _fail(exc)
    if as_json:
        console.print_json(json.dumps(reports, default=str, ensure_ascii=False))
    else:
        table = Table(title=f"coverage of the grids in {region}")
        for col in (
            "community",
            "grids",
            "covered",
            "gaps m²",
            "overlaps m²",
            "spills",
            "bad edges",
            "homes in gaps",
        ):
            table.add_column(col, justify="left" if col == "community" else "right")
        for r in reports:
            gaps = sum(f["properties"]["area_m2"] for f in r["gaps"]["features"])
            over = sum(f["properties"]["area_m2"] for f in r["overlaps"]["features"])
            table.add_row(
                f"{r['community']['code']} {r['community']['name']}",
                str(r["grids"]),
                f"{100 * r['covered_share']:.3f}%",
                f"{gaps:,.1f} ({len(r['gaps']['features'])})",
                f"{over:,.1f} ({len(r['overlaps']['features'])})",
                str(len(r["outside"]["features"])),
                str(len(r["invalid_edges"]["features"])),
                f"{r['households_in_gaps']} in {len(r['buildings_in_gaps'])} buildings",
                style=None if r["exact"] else "red",
            )
        _print_table(table)
    _print_warnings(settings, region, to=err if as_json else console)
    bad = [r["community"]["code"] for r in reports if not r["exact"]]
    if bad:
        err.print(f"{len(bad)} of {len(reports)} communities are not exactly covered")
        raise typer.Exit(code=1)
    err.print(f"all {len(reports)} communities are exactly covered")


def _print_warnings(settings: Settings, region: str, *, to: Console) -> None:
    """The organisation's warnings of ``region`` after the coverage report: how many of each
    check, in words, with the first grids they concern. Warnings never change the exit code."""
    from gridmap.services.org_checks import CHECK_WORDS, Thresholds, warnings

    try:
        with _session(settings) as session:
            found = warnings(session, region=region, limits=Thresholds.from_settings(settings.api))
    except GridmapError as exc:
        _fail(exc)
    total = found["numberReturned"]
    if not total:
        to.print(f"no organisation warnings in {region}")
        return
    table = Table(title=f"organisation warnings in {region} (warnings only: not counted above)")
    for col in ("warning", "n", "grids"):
        table.add_column(col, justify="right" if col == "n" else "left")
    for check, n in found["counts"].items():
        if not n:
            continue
        grids = sorted(
            {
                str(f["properties"]["grid_code"])
                for f in found["features"]
                if f["properties"]["check"] == check and f["properties"]["grid_code"]
            }
        )
        shown = ", ".join(grids[:5]) + (f" and {len(grids) - 5} more" if len(grids) > 5 else "")
        table.add_row(CHECK_WORDS[check], str(n), shown)
    if to is console:
        _print_table(table)
    else:
        to.print(table)
    to.print(f"{total} organisation warnings in {region}")


# What an output's name says it is; ".zip" is a zipped shapefile, as the API sends it.
_EXPORT_SUFFIXES: dict[str, Format] = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shp",
    ".zip": "shp",
    ".fgb": "fgb",
    ".parquet": "parquet",
}
_EXPORT_LAYERS = (
    "regions",
    "grids",
    "buildings",
    "households",
    "service-centres",
    "service-circles",
    "list-items",
    "incidents",
    "patrols",
    "visits",
    "party-orgs",
    "resident-units",
)


def _export_format(output: Path, fmt: str) -> Format:
    """The format to write ``output`` in: ``fmt`` when given, else what its extension says; an
    error when the two disagree or neither says."""
    from gridmap import files

    implied = _EXPORT_SUFFIXES.get(output.suffix.lower())
    if fmt:
        if fmt not in files.FORMATS:
            shown = fmt if len(fmt) <= 20 else fmt[:20] + "…"
            raise InvalidInput(f"unknown format {shown!r}; use {', '.join(files.FORMATS)}")
        if implied is not None and implied != fmt:
            raise InvalidInput(
                f"--format {fmt} does not fit {output.name}, a name for {implied}: name the "
                "file for the format (.geojson, .gpkg, .fgb, .parquet, .shp or .zip) or leave "
                "out --format"
            )
        return fmt
    if implied is None:
        raise InvalidInput(
            f"cannot tell the format from {output.name!r}: end it with .geojson, .gpkg, .fgb, "
            ".parquet, .shp or .zip (a zipped shapefile), or say --format"
        )
    return implied


def _unzip_shapefile(archive: Path, output: Path) -> list[Path]:
    """Put the parts of a zipped shapefile beside ``output`` (a .shp), named after it."""
    import zipfile

    written = []
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            part = output.with_suffix(Path(name).suffix)
            part.write_bytes(z.read(name))
            written.append(part)
    return written


@app.command("export")
def export_cmd(
    layer: Annotated[str, typer.Argument(help="the layer: " + ", ".join(_EXPORT_LAYERS))],
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="file to write: .geojson, .gpkg, .fgb, .parquet, .shp (with its .shx, .dbf, "
            ".prj and .cpg beside it) or .zip (a zipped shapefile)",
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="geojson, gpkg, shp, fgb or parquet (default: what the output's name ends with)",
        ),
    ] = "",
    crs: Annotated[str, typer.Option(help="EPSG:4326, EPSG:4490 or GCJ-02")] = "EPSG:4326",
    region: Annotated[
        str | None, typer.Option(help="only this district, street or community (its code)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="GRIDMAP_TOKEN",
            help="export what this token may read, masked as the API masks it for its holder "
            "(default: what anyone may read; visits and patrols need a token)",
        ),
    ] = None,
) -> None:
    """Write a layer as a file for GIS tools (like GET /api/v1/export/{layer}), streamed."""
    import shutil

    from gridmap import files
    from gridmap.auth import ANONYMOUS, authenticate
    from gridmap.geo.crs import normalize_crs
    from gridmap.queries import export as ex

    try:
        chosen = _export_format(output, fmt)
        files.file_crs(crs)
        crs = normalize_crs(crs)
        ex.layer_of(layer)
        with _session() as session:
            principal = ANONYMOUS if token is None else authenticate(session, token)
            if region is not None:
                _require_place(session, region)
            total = ex.count_rows(session, layer=layer, principal=principal, region=region)
            made = ex.export_batches(
                session, layer=layer, principal=principal, fmt=chosen, crs=crs, region=region
            )
            with _progress() as bar:
                task = bar.add_task(f"exporting {layer}", total=total)

                def counted() -> Iterator[Any]:
                    for batch in made.batches:
                        yield batch
                        bar.advance(task, batch.num_rows)

                if chosen == "geojson":
                    with output.open("wb") as out:
                        for chunk in files.geojson_chunks(counted(), crs=crs, name=layer):
                            out.write(chunk)
                else:
                    folder = files.temp_folder()
                    try:
                        path = files.write_stream(
                            made.schema,
                            counted(),
                            fmt=chosen,
                            crs=crs,
                            layer=layer,
                            geometry_type=made.geometry_type,
                            folder=folder,
                        )
                        if output.suffix.lower() == ".shp":
                            _unzip_shapefile(path, output)
                        else:
                            shutil.move(path, output)
                    finally:
                        shutil.rmtree(folder, ignore_errors=True)
                bar.update(task, completed=total)
    except OSError as exc:
        _fail(InvalidInput(f"cannot write {output}: {exc.strerror or exc}"))
    except GridmapError as exc:
        _fail(exc)
    console.print(f"wrote {total} {layer} to {output} ({chosen}, {crs})", soft_wrap=True)


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the file")],
    layer: Annotated[str, typer.Option(help="the layer to import into")] = "grids",
    crs: Annotated[
        str | None, typer.Option(help="the file's CRS when it does not say (or says wrong)")
    ] = None,
    commit: Annotated[bool, typer.Option(help="write the changes (default: report only)")] = False,
) -> None:
    """Import grids from GeoJSON, GeoPackage, a zipped Shapefile or KML; all or nothing."""
    from gridmap.auth import operator
    from gridmap.services.grid_import import run_import

    if layer != "grids":
        _fail(GridmapError(f"only grids are imported; {layer!r} is loaded with 'gridmap load'"))
    settings = get_settings()
    try:
        with _session(settings) as session, console.status("checking the file…"):
            result = run_import(
                session,
                path,
                crs=crs,
                principal=operator(getpass.getuser()),
                rules=_rules(settings),
                commit=commit,
                source=path.name,
            )
    except GridmapError as exc:
        rejected = exc.extra.get("rejected")
        if rejected:
            _print_import(exc.extra)
        _fail(exc)
    _print_import(result)
    if not commit:
        console.print("nothing written; run again with --commit to apply")


def _print_import(result: dict[str, Any]) -> None:
    table = Table(title=f"import ({'committed' if result['committed'] else 'not written'})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("created", "updated", "unchanged", "rejected"):
        table.add_row(key, str(len(result[key])))
    _print_table(table)
    for r in result["rejected"]:
        err.print(f"  feature {r['index']} {r.get('code') or ''}: {r['reason']}")


@app.command()
def assign(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help=".csv or .geojson; with --workers or --scheduler also a folder of parts, a glob "
            "or several parts (.csv, or GeoParquet / Parquet)",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="where to write (.csv or .geojson; on Dask: a new folder of parts)"
        ),
    ],
    crs: Annotated[
        str | None,
        typer.Option(
            help="the coordinates' CRS (default EPSG:4326; a GeoParquet part's own CRS unless "
            "given)"
        ),
    ] = None,
    lon: Annotated[str | None, typer.Option(help="the longitude column (CSV)")] = None,
    lat: Annotated[str | None, typer.Option(help="the latitude column (CSV)")] = None,
    at: Annotated[
        str | None, typer.Option(help="assign to the grids as they were then (ISO 8601)")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="the CSV's encoding (default: found; UTF-8 with or without a BOM, else GB18030, "
            "which covers the GBK Excel writes on a Chinese Windows)"
        ),
    ] = None,
    bom: Annotated[
        bool,
        typer.Option(
            "--bom/--no-bom",
            help="start a CSV output with a UTF-8 BOM, so Excel shows Chinese right (default: "
            "--bom; --no-bom for other programs)",
        ),
    ] = True,
    scheduler: Annotated[
        str | None,
        typer.Option(help="run on the Dask scheduler at this address (tcp://host:port)"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="run on a local Dask cluster of this many processes"),
    ] = None,
    connect_timeout: Annotated[
        float, typer.Option(min=0.1, max=600, help="seconds to wait for --scheduler")
    ] = 10.0,
    shared_dir: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="a folder every Dask worker reads (a shared disk): the grids' index is saved "
            "there and memory-mapped by the workers (default with --workers: a temporary "
            "folder; with --scheduler and none given, the index is sent to each worker)",
        ),
    ] = None,
) -> None:
    """Assign every point of a file to its grid, exactly (border rule: lowest code).

    With --workers N or --scheduler tcp://host:port the points may be bigger than memory: the
    parts are read, located and written on Dask, each by one task, into a folder of parts.
    """
    if scheduler is not None or workers is not None:
        _assign_on_dask(
            paths,
            out,
            crs=crs,
            lon=lon,
            lat=lat,
            at=at,
            encoding=encoding,
            bom=bom,
            scheduler=scheduler,
            workers=workers,
            timeout=connect_timeout,
            shared_dir=shared_dir,
        )
        return
    import time

    from gridmap.assign import GridSet, check_output, read_points, write_assigned
    from gridmap.dependencies import parse_at
    from gridmap.geo.crs import normalize_crs

    settings = get_settings()
    try:
        if len(paths) != 1 or not paths[0].is_file():
            raise InvalidInput(
                f"no file {paths[0]}"
                if len(paths) == 1 and not paths[0].is_dir()
                else "several parts or a folder are assigned on Dask: add --workers N (a local "
                "cluster) or --scheduler tcp://host:port"
            )
        path = paths[0]
        check_output(out)
        crs = normalize_crs(crs)
        when = parse_at(at, settings.api.timezone)
        rows, xs, ys = read_points(path, lon=lon, lat=lat, encoding=encoding)
        started = time.perf_counter()
        with _session(settings) as session, console.status("indexing the grids…"):
            grids = GridSet.load(session, at=when, points=len(rows))
        with _progress() as bar:
            task = bar.add_task("assigning points", total=len(rows))
            found = grids.assign(xs, ys, crs=crs, progress=lambda k: bar.advance(task, k))
        elapsed = time.perf_counter() - started
        write_assigned(out, rows, xs, ys, found, grids, bom=bom)
    except GridmapError as exc:
        _fail(exc)
    hits = int((found >= 0).sum())
    console.print(
        f"{hits:,} of {len(rows):,} points are in a grid ({len(grids.codes):,} grids); "
        f"{elapsed:.2f} s; wrote {out}",
        soft_wrap=True,
    )


def _assign_on_dask(
    paths: list[Path],
    out: Path,
    *,
    crs: str | None,
    lon: str | None,
    lat: str | None,
    at: str | None,
    encoding: str | None,
    bom: bool,
    scheduler: str | None,
    workers: int | None,
    timeout: float,
    shared_dir: Path | None,
) -> None:
    """``gridmap assign --workers/--scheduler``: the parts on Dask, into a folder of parts."""
    import shutil
    import tempfile
    import time

    from gridmap import assign_dask
    from gridmap.assign import GridSet
    from gridmap.dependencies import parse_at

    settings = get_settings()
    try:
        if scheduler is not None and workers is not None:
            raise InvalidInput("give either --scheduler tcp://host:port or --workers N, not both")
        if scheduler is not None:
            assign_dask.check_address(scheduler)
        files = assign_dask.find_parts(paths)
        parts = assign_dask.inspect(files, lon=lon, lat=lat, crs=crs, encoding=encoding)
        assign_dask.check_out(out, parts.kind)
        when = parse_at(at, settings.api.timezone)
        started = time.perf_counter()
        with _session(settings) as session, console.status("indexing the grids…"):
            grids = GridSet.load(session, at=when)
        if shared_dir is not None and not shared_dir.is_dir():
            raise InvalidInput(f"no folder {shared_dir} (--shared-dir)")
        local = None if shared_dir is not None or workers is None else Path(tempfile.mkdtemp())
        with (
            console.status("connecting to Dask…"),
            assign_dask.connect(scheduler=scheduler, workers=workers, timeout=timeout) as client,
        ):
            n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            if n_workers == 0:
                raise InvalidInput(
                    f"the Dask scheduler at {scheduler} has no workers: start some with "
                    f"`dask worker {scheduler}`"
                )
            with _progress() as bar:
                task = bar.add_task(f"assigning {len(files)} part(s) on {n_workers} worker(s)")

                seen = [0]

                def advance(written: assign_dask.Written, total: int) -> None:
                    seen[0] += written.rows
                    bar.update(
                        task,
                        total=total,
                        advance=1,
                        description=f"assigned {seen[0]:,} points on {n_workers} worker(s)",
                    )

                try:
                    done = assign_dask.run(
                        client,
                        parts,
                        grids,
                        out,
                        bom=bom,
                        shared=shared_dir or local,
                        progress=advance,
                    )
                finally:
                    if local is not None:
                        shutil.rmtree(local, ignore_errors=True)
        elapsed = time.perf_counter() - started
    except GridmapError as exc:
        _fail(exc)
    rows = sum(w.rows for w in done)
    hits = sum(w.hits for w in done)
    console.print(
        f"{hits:,} of {rows:,} points are in a grid ({len(grids.codes):,} grids); "
        f"{len(done)} part(s) on {n_workers} Dask worker(s); {elapsed:.2f} s; wrote {out}",
        soft_wrap=True,
    )


@app.command("map")
def report_map(
    region: Annotated[str, typer.Argument(help="a street (9 digits) or community (12 digits)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="the HTML file to write")],
    minutes: Annotated[int, typer.Option(min=1, max=120, help="circles of this many minutes")] = 15,
) -> None:
    """Write a self-contained report map (grids, coverage, households, lists) that opens offline."""
    from gridmap import reports
    from gridmap.geo.rules import GridRules

    settings = get_settings()
    try:
        with _session(settings) as session, console.status("drawing the map…"):
            m = reports.build_map(
                session,
                region=region,
                rules=GridRules.from_settings(settings.api),
                minutes=minutes,
                tile_url=settings.api.tile_url,
                tile_attribution=settings.api.tile_attribution,
            )
            size = reports.write(m, settings.api.web_dir, out)
    except GridmapError as exc:
        _fail(exc)
    console.print(f"wrote {out} ({size / 1024:.0f} KiB); it opens in any browser, with no network")


@circles_app.command("rebuild")
def circles_rebuild(
    region: Annotated[
        str | None, typer.Option(help="only the centres of this district/street/community")
    ] = None,
    minutes: Annotated[
        list[int] | None,
        typer.Option(min=1, max=120, help="minutes of walk (repeatable; default from settings)"),
    ] = None,
) -> None:
    """Compute the service circles of every centre again from the walking network."""
    from gridmap.queries.circles import circle_rules
    from gridmap.services import circles

    settings = get_settings()
    rules = circle_rules(settings.api, minutes)
    try:
        with _session(settings) as session, _progress() as bar:
            if region is not None:
                _require_place(session, region)
            task = bar.add_task("service circles", total=None)
            counts = circles.rebuild(
                session,
                rules=rules,
                region=region,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except GridmapError as exc:
        _fail(exc)
    console.print(
        f"{counts['centres']} centres, {len(rules)} circle(s) each "
        f"({', '.join(str(r.minutes) for r in rules)} min): {counts['network']} over the walking "
        f"network, {counts['buffer']} as a {rules[0].buffer_m:g} m buffer (no network nearby)"
    )


@patrols_app.command("streets")
def patrols_streets(
    grid: Annotated[
        list[str] | None, typer.Option(help="only this grid (repeatable); default every grid")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="build even the grids whose pieces are current")
    ] = False,
) -> None:
    """Build the street pieces of patrol coverage for grids whose pieces are missing or belong
    to an older version of the grid (the API also builds them when a grid is first read)."""
    from gridmap.services.patrols import refresh_streets

    settings = get_settings()
    try:
        with _session(settings) as session, _progress() as bar:
            task = bar.add_task("street pieces", total=None)
            counts = refresh_streets(
                session,
                grid,
                force=force,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except GridmapError as exc:
        _fail(exc)
    console.print(
        f"{counts['grids']} grids: {counts['built']} built, {counts['pieces']} street pieces made"
    )


# Incidents by month: gridmap.services.partitions.
partitions_app = typer.Typer(
    help="Incidents by month: the partitions, archived to GeoParquet and restored.",
    no_args_is_help=True,
)
incidents_app.add_typer(partitions_app, name="partitions")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@partitions_app.command("list")
def partitions_list() -> None:
    """Every month of incidents: its partition, rows and size, or the file it was archived to."""
    from gridmap.services import partitions as p

    try:
        with _session() as session:
            found = p.months(session)
    except GridmapError as exc:
        _fail(exc)
    table = Table(title="incidents by month (China time)")
    for col in ("month", "partition", "rows", "size", "archived to"):
        table.add_column(col, justify="right" if col in ("rows", "size") else "left")
    for m in found:
        default = m.table == "incident_default"
        table.add_row(
            "(no month)" if default else f"{m.month:%Y-%m}",
            m.table or "—",
            f"{m.rows:,}",
            _size(m.bytes) if m.table else "—",
            m.archived_to or "",
        )
    _print_table(table)


@partitions_app.command("archive")
def partitions_archive(
    month: Annotated[str, typer.Argument(help="the month, e.g. 2016-05")],
    to: Annotated[Path, typer.Option("--to", help="the GeoParquet file to write")],
) -> None:
    """Detach a month of incidents, write it to a GeoParquet file and drop it (its keys,
    events and tasks stay)."""
    from gridmap.services import partitions as p

    try:
        first = p.parse_month(month)
        with _session() as session, _progress() as bar:
            task = bar.add_task("archiving", total=None)

            def step(name: str, done: int, total: int) -> None:
                bar.update(task, description=name, completed=done, total=total or None)

            done = p.archive(session, month=first, path=to, progress=step)
    except GridmapError as exc:
        _fail(exc)
    console.print(f"{done.month:%Y-%m}: {done.rows:,} incidents archived to {to}")


@partitions_app.command("restore")
def partitions_restore(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="an archived month")],
) -> None:
    """Attach an archived month again from its GeoParquet file."""
    from gridmap.services import partitions as p

    try:
        with _session() as session, _progress() as bar:
            task = bar.add_task("restoring", total=None)

            def step(name: str, done: int, total: int) -> None:
                bar.update(task, description=name, completed=done, total=total or None)

            done = p.restore(session, path=path, progress=step)
    except GridmapError as exc:
        _fail(exc)
    console.print(f"{done.month:%Y-%m}: {done.rows:,} incidents restored into {done.table}")


@incidents_app.command("import")
def incidents_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv or .geojson")],
    crs: Annotated[str, typer.Option(help="the coordinates' CRS")] = "EPSG:4326",
    commit: Annotated[bool, typer.Option(help="write (default: check only)")] = False,
) -> None:
    """Import historical incidents, assigned to grids; all or nothing."""
    import time

    from gridmap.auth import operator
    from gridmap.services import incident_import as ii

    settings = get_settings()
    started = time.perf_counter()
    try:
        with _session(settings) as session, _progress() as bar:
            task = bar.add_task("reading", total=None)

            def step(name: str, done: int, total: int) -> None:
                bar.update(task, description=name, completed=done, total=total or None)

            frame = ii.read_table(path)
            result = ii.import_incidents(
                session,
                frame,
                crs=crs,
                principal=operator(getpass.getuser()),
                commit=commit,
                source=path.name,
                timezone=settings.api.timezone,
                progress=step,
            )
    except GridmapError as exc:
        _fail(exc)
    took = time.perf_counter() - started
    for e in result.get("errors", [])[:20]:
        err.print(f"  row {e['row']}: {'; '.join(e['problems'])}")
    if "errors" in result:
        err.print(
            f"[bold red]{result['rows_with_errors']} of {result['rows']} rows have "
            "errors; nothing written[/]"
        )
        raise typer.Exit(code=1)
    console.print(
        f"{result['rows']:,} rows: {result['in_grid']:,} in a grid, {result['outside_grids']:,} "
        f"outside; "
        + (
            f"{result['inserted']:,} written, {result['skipped_existing']:,} already there"
            if result["committed"]
            else "nothing written (--commit writes)"
        )
        + f" ({took:.1f} s)"
    )


@app.command()
def reassign(
    since: Annotated[str, typer.Option(help="incidents reported since (ISO 8601)")],
    commit: Annotated[bool, typer.Option(help="write (default: report only)")] = False,
) -> None:
    """Re-attribute incidents to today's grids (incidents otherwise keep their report-time grid)."""
    from gridmap.auth import operator
    from gridmap.dependencies import parse_at
    from gridmap.services.incident_import import reassign as run

    settings = get_settings()
    try:
        when = parse_at(since, settings.api.timezone)
        with _session(settings) as session:
            result = run(session, since=when, principal=operator(getpass.getuser()), commit=commit)
    except GridmapError as exc:
        _fail(exc)
    for m in result["moves"][:20]:
        console.print(f"  incident {m['id']}: {m['old'] or '(none)'} → {m['new']}")
    console.print(
        f"{result['moved']} of {result['incidents']} incidents move to another grid; "
        + ("written" if result["committed"] else "nothing written (--commit writes)")
    )


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
    for col in ("table", "inserted", "updated", "unchanged", "deleted"):
        table.add_column(col, justify="right" if col != "table" else "left")
    for name, change in report.tables.items():
        table.add_row(
            name,
            str(change.inserted),
            str(change.updated),
            str(change.unchanged),
            str(change.deleted),
        )
    _print_table(table)


def _load(settings: Settings, path: Path, commit: bool, *, unless_loaded: bool = False) -> None:
    from sqlalchemy import select

    from gridmap import migrate as m
    from gridmap.loader import checksum, load_dataset
    from gridmap.models import DataSet

    url = _ensure_db(settings)
    m.upgrade(url)
    engine = make_engine(url, pool_size=1)
    try:
        if unless_loaded:
            with engine.connect() as conn:
                loaded = conn.execute(
                    select(DataSet.name).where(DataSet.checksum == checksum(path))
                ).scalar_one_or_none()
            if loaded is not None:
                from gridmap.queries.address import refresh_address_keys
                from gridmap.queries.circles import circle_rules
                from gridmap.services.circles import ensure as ensure_circles
                from gridmap.services.incidents import derive_times, working_hours

                # Derived fields (address keys, incident times) may be missing after an
                # upgrade; computing them is cheap and rewrites nothing that is there.
                with engine.begin() as conn:
                    refresh_address_keys(conn)
                    derive_times(
                        conn,
                        working_hours(
                            conn,
                            timezone=settings.api.timezone,
                            start=settings.api.working_day_start,
                            end=settings.api.working_day_end,
                        ),
                    )
                    ensure_circles(conn, rules=circle_rules(settings.api), everything=False)
                # Loading again would undo edits made in the app since (as new versions).
                console.print(
                    f"data set {loaded} is loaded and unchanged; edits made since are kept "
                    f"(gridmap load {path} --commit applies it again)"
                )
                return
        with console.status("loading…") as status:
            from gridmap.queries.circles import circle_rules

            report = load_dataset(
                engine,
                path,
                commit=commit,
                progress=lambda msg: status.update(f"loading {msg}…"),
                circles=circle_rules(settings.api),
                timezone=settings.api.timezone,
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


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from gridmap.main import create_app

    console.print(
        f"[bold green]gridmap is serving the map at http://{host}:{port}/[/] (Ctrl-C to stop)"
    )
    if workers > 1:
        # Worker processes build the app themselves, from the same environment.
        uvicorn.run(
            "gridmap.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port (default $PORT or 8000)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
) -> None:
    """Serve the API and the map."""
    settings = get_settings()
    try:
        _ensure_db(settings)
    except GridmapError as exc:
        _fail(exc)
    _serve(settings, host or settings.api.host, port or settings.api.port, workers)


# The community whose branch secretary and member get the demo's tokens (六道口社区).
DEMO_ORG_COMMUNITY = "110108010002"


def _demo_token(settings: Settings) -> str:
    from gridmap.auth import create_token, revoke_named
    from gridmap.vocab.codes import REGION_DIGITS

    name = "demo map"
    region = settings.api.start_region
    with _session(settings) as session:
        revoke_named(session, name)
        role = {digits: level for level, digits in REGION_DIGITS.items()}[len(region)]
        secret, _ = create_token(session, name=name, role=role, region=region)
    return secret


def _demo_org_tokens(settings: Settings) -> list[tuple[str, str]]:
    """A token of a branch of the demo community and one of a member of that branch (the
    previous demo's revoked): what each may do in words, and its secret. None without one."""
    from sqlalchemy import func, select

    from gridmap.auth import Holder, create_token, revoke_named
    from gridmap.models import ListItem, PartyMember, PartyOrg, PartyOrgGrid, Person

    made: list[tuple[str, str]] = []
    with _session(settings) as session:
        revoke_named(session, "demo branch")
        revoke_named(session, "demo member")
        branch = session.execute(
            select(PartyOrg.id, PartyOrg.name, PartyOrgGrid.grid_code)
            .join(PartyOrgGrid, PartyOrgGrid.org_id == PartyOrg.id)
            .where(PartyOrg.kind == "branch", PartyOrg.community_code == DEMO_ORG_COMMUNITY)
            .order_by(PartyOrgGrid.grid_code)
            .limit(1)
        ).first()
        if branch is None:
            return made
        secret, _ = create_token(
            session, holder=Holder("party_org", org=branch.id), name="demo branch"
        )
        made.append(
            (
                f"the branch {branch.name} (its secretary: assigns needs and wishes, changes "
                f"its groups, members and posts in grid {branch.grid_code})",
                secret,
            )
        )
        # the member of the branch with the most items taken on, so the token has work to show
        member = session.execute(
            select(Person.id, Person.name)
            .join(PartyMember, PartyMember.person_id == Person.id)
            .outerjoin(ListItem, ListItem.member_id == PartyMember.id)
            .where(PartyMember.org_id == branch.id)
            .group_by(Person.id, Person.name, Person.key)
            .order_by(func.count(ListItem.id).desc(), Person.key)
            .limit(1)
        ).first()
        if member is not None:
            secret, _ = create_token(
                session, holder=Holder("party_member", person=member.id), name="demo member"
            )
            made.append(
                (
                    f"a member of that branch, {member.name} (generated): claims open needs and "
                    "wishes of the community, takes what the branch assigns, reports them done",
                    secret,
                )
            )
    return made


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port (default $PORT or 8000)")] = None,
) -> None:
    """Start the database, migrate, load the Haidian demo data and serve the map."""
    settings = get_settings()
    try:
        _load(settings, settings.api.data_dir, commit=True, unless_loaded=True)
        secret = _demo_token(settings)
        org_tokens = _demo_org_tokens(settings)
    except GridmapError as exc:
        _fail(exc)
    console.print(
        f"a token that edits the grids of {settings.api.start_region} (revoked by the next demo):"
        f"\n  {secret}"
    )
    for what, org_secret in org_tokens:
        console.print(f"a token of {what}:\n  {org_secret}")
    # Ctrl-C stops uvicorn cleanly; make SIGTERM do the same.
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    _serve(settings, host or settings.api.host, port or settings.api.port)


if __name__ == "__main__":
    app()
