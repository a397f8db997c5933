"""gridmap.settings: configuration from the environment (prefix ``GRIDMAP_``) and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridmap.vocab import codes
from gridmap.vocab.kinds import CARE_TAGS


def project_root() -> Path:
    """Return the checkout gridmap runs from (the folder holding ``pyproject.toml``)."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


# Everything is stored in EPSG:4326 (lon/lat). CGCS2000 (EPSG:4490) differs by centimetres and is
# accepted and produced as the same numbers; areas and distances are computed in metres.
STORAGE_SRID = 4326

_ENV = SettingsConfigDict(env_prefix="GRIDMAP_", env_file=".env", extra="ignore")


class DatabaseSettings(BaseSettings):
    """Where the PostGIS database is: an external ``DATABASE_URL`` or the embedded cluster."""

    model_config = _ENV

    # A plain string, not pydantic's PostgresDsn: that refuses libpq's socket form
    # (postgresql:///gridmap?host=/var/run/postgresql), which servers on one machine use.
    url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "GRIDMAP_DATABASE_URL")
    )
    home: Path = Field(default_factory=lambda: project_root() / ".gridmap")
    embedded_port: int = 5432
    embedded_db: str = "gridmap"
    pool_size: int = 5
    # Read replica: GET routes of lookup, tiles, /ogc and exports read from this server (a hot
    # standby of ``url``); a process reading from it learns of changed grids by polling
    # ``grid_change`` this often (no NOTIFY reaches a standby). Unset: everything on ``url``.
    read_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GRIDMAP_READ_DATABASE_URL", "READ_DATABASE_URL"),
    )
    replica_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    @field_validator("url", "read_url", mode="before")
    @classmethod
    def _psycopg3_driver(cls, value: object) -> object:
        # Users paste URLs as libpq writes them; SQLAlchemy needs the psycopg 3 driver named.
        if isinstance(value, str) and value:
            for prefix in ("postgres://", "postgresql://"):
                if value.startswith(prefix):
                    return "postgresql+psycopg://" + value[len(prefix) :]
            if not value.startswith("postgresql+"):
                raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value or None


class ApiSettings(BaseSettings):
    """How the HTTP service behaves."""

    model_config = _ENV

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "GRIDMAP_PORT"))
    web_dir: Path = Field(default_factory=lambda: project_root() / "web")
    data_dir: Path = Field(default_factory=lambda: project_root() / "data" / "boundaries")
    max_body_bytes: int = 10 * 1024 * 1024
    # GIS files sent to /api/v1/import/ may be larger than other bodies.
    max_upload_bytes: int = 100 * 1024 * 1024
    page_limit_max: int = 10_000
    # Optional base-map tile URL template (OSM, Tianditu, AMap …); none is needed offline.
    tile_url: str | None = None
    tile_attribution: str = ""
    tile_crs: Literal["EPSG:3857", "GCJ-02"] = "EPSG:3857"
    # Grid codes are the community code + a sequence of this many digits (3, or 2 in some cities).
    grid_code_width: Literal[2, 3] = 3
    # The coverage rule: gaps, overlaps and spills count when larger than this many m² and not
    # narrower than grid_sliver_m; ?fix=true snaps vertices this close to a neighbour's edge.
    grid_tolerance_m2: float = Field(default=1.0, ge=0)
    grid_sliver_m: float = Field(default=0.5, ge=0)
    grid_snap_m: float = Field(default=1.0, ge=0, le=50)
    # Incidents: a report lists open ones of its category this close, this recent, as
    # possible duplicates; working-time limits count weekdays between these hours.
    duplicate_metres: float = Field(default=50.0, gt=0, le=5000)
    duplicate_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    working_day_start: int = Field(default=9, ge=0, le=23)
    # The street pool (抢单): an accepted incident waits this long for its street to claim it;
    # then it goes to the district's dispatch queue (派单), or with pool_auto_dispatch straight
    # to the street holding its point. The server looks for closed windows this often.
    pool_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    pool_auto_dispatch: bool = False
    pool_tick_seconds: float = Field(default=5.0, gt=0, le=300)
    working_day_end: int = Field(default=18, ge=1, le=24)
    # Incident photos: stored on disk here, served by the API; decoded and encoded again, and
    # refused above this many pixels (checked from the header, before decoding).
    media_dir: Path = Field(default_factory=lambda: project_root() / ".gridmap" / "media")
    max_photo_bytes: int = 5 * 1024 * 1024
    max_photo_pixels: int = Field(default=40_000_000, ge=1)
    max_photos: int = 9
    # Service circles: walking speed, the minutes drawn by `gridmap circles rebuild` and on every
    # centre change, how far a centre may be from the network, how deep homes reach from a
    # walked street, the largest enclosed block counted as reached, and the fallback radius.
    walk_speed_kmh: float = Field(default=4.5, gt=0, le=20)
    circle_minutes: list[Annotated[int, Field(ge=1, le=120)]] = Field(
        default=[15], min_length=1, max_length=6
    )
    circle_snap_m: float = Field(default=300.0, ge=0, le=2000)
    circle_street_m: float = Field(default=100.0, ge=1, le=500)
    circle_hole_m2: float = Field(default=50_000.0, ge=0)
    circle_buffer_m: float = Field(default=1000.0, ge=100, le=5000)
    # Patrols (巡查): a fix the phone reports less accurately than this is dropped; a track whose
    # consecutive points imply more than this speed is refused (a jump, not a walk or a ride); a
    # street is walked when a track passes within this distance; at most this many points in one
    # uploaded piece and in one patrol.
    patrol_fix_accuracy_m: float = Field(default=50.0, gt=0, le=500)
    patrol_max_speed_kmh: float = Field(default=60.0, gt=0, le=300)
    patrol_cover_m: float = Field(default=20.0, gt=0, le=200)
    patrol_piece_points: int = Field(default=3600, ge=10, le=100_000)
    patrol_points: int = Field(default=50_000, ge=100, le=1_000_000)
    # Household visits (走访): at least every so many days per care tag; a tag not named here is
    # visited every ``visit_default_days`` (the seeds' 每月至少一次). A care tag may carry its own
    # interval, which wins.
    visit_interval_days: dict[str, Annotated[int, Field(ge=1, le=366)]] = Field(
        default_factory=lambda: {"elderly_alone": 7}
    )
    visit_default_days: int = Field(default=30, ge=1, le=366)

    @field_validator("visit_interval_days")
    @classmethod
    def _known_care_tags(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(CARE_TAGS))
        if unknown:
            raise ValueError(
                f"visit intervals name unknown care tags {', '.join(unknown)}; "
                f"the tags are {', '.join(CARE_TAGS)}"
            )
        return value

    # The organisation's checks (warnings, never errors): a basic grid holds so many households
    # (the seeds' 300–500); a grid leader leads at most so many grids; a central household
    # (党员中心户) serves so many households (10–20).
    grid_households_min: int = Field(default=300, ge=0, le=100_000)
    grid_households_max: int = Field(default=500, ge=1, le=100_000)
    leader_max_grids: int = Field(default=3, ge=1, le=100)
    central_serves_min: int = Field(default=10, ge=0, le=1000)
    central_serves_max: int = Field(default=20, ge=1, le=1000)
    # A resident's public need form (群众点单, no token): at most so many from one client in an
    # hour. The client is its address as the server sees it, or the first address of
    # X-Forwarded-For when the server stands behind a proxy that sets it (and only then).
    public_needs_per_hour: int = Field(default=3, ge=1, le=1000)
    trust_forwarded_for: bool = False

    # Keep the current grids in memory for lookups (kept current by PostgreSQL notifications).
    live_lookup: bool = True
    # The lookup index at country size (gridmap.live): saved here, a directory per database, and
    # memory-mapped by every worker process; unset keeps each process's index in memory only.
    index_dir: Path | None = Field(default_factory=lambda: project_root() / ".gridmap" / "index")
    # Answer /ogc items of layers without personal data before FastAPI (gridmap.ogc.fast).
    ogc_fast_path: bool = True
    # A server keeps the principal of each token it has seen this long, so a token costs a
    # request no database work: a token revoked elsewhere stops working within this time (0:
    # read every token from the database at each request).
    token_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=60,
        validation_alias=AliasChoices("GRIDMAP_API_TOKEN_CACHE_SECONDS"),
    )
    # Times given without an offset (?at=2026-05-01T08:00) are read in this zone.
    timezone: str = "Asia/Shanghai"
    # The region the browser map opens on (学院路街道 of the demo).
    start_region: str = Field(default="110108010", pattern=codes.REGION)


class Settings(BaseSettings):
    """All settings of one gridmap process."""

    model_config = _ENV

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)


@lru_cache
def get_settings() -> Settings:
    """Settings read once from the environment."""
    return Settings()
