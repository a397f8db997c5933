"""gridmap.reports: a self-contained folium map of a street or community, to open offline or mail.

The map holds the region's grids (households, designated households, circle coverage and the
counts of the three lists in each grid's tooltip), its communities, coverage gaps and overlaps in
red, service circles and centres, uncovered buildings and designated households. Leaflet's code
and style are written into the file itself from gridmap's vendored copy: no CDN is asked for, so
the file opens with no network. Text from the data is HTML-escaped before folium sees it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, cast

import folium
from sqlalchemy import Select, Table, func, select
from sqlalchemy.orm import Session

from gridmap.errors import InvalidInput, RegionNotFound
from gridmap.geo.rules import GridRules
from gridmap.models import Building, Grid, Household, ListItem, Region, ServiceCenter, ServiceCircle
from gridmap.queries import feature_collection
from gridmap.queries import households as hh
from gridmap.queries import service_coverage as sc
from gridmap.queries.coverage import community_coverage
from gridmap.vocab import codes

_INLINE = "gridmap-inline:"
_TAG = re.compile(
    r'<script src="'
    + _INLINE
    + r'([^"]+)"></script>|<link rel="stylesheet" href="'
    + _INLINE
    + r'([^"]+)"/>'
)


_r = cast(Table, Region.__table__)
_g = cast(Table, Grid.__table__)
_i = cast(Table, ListItem.__table__)
_h = cast(Table, Household.__table__)
_b = cast(Table, Building.__table__)
_s = cast(Table, ServiceCenter.__table__)
_c = cast(Table, ServiceCircle.__table__)


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _escaped(feature: dict[str, Any]) -> dict[str, Any]:
    props = {
        k: html.escape(v) if isinstance(v, str) else v
        for k, v in (feature.get("properties") or {}).items()
    }
    return {**feature, "properties": props}


def _geojson(session: Session, rows: Select[Any], order_by: str = "code") -> dict[str, Any]:
    features = session.execute(feature_collection(rows, order_by=order_by)).scalar_one()
    return _fc([_escaped(f) for f in features])


def _layer(
    m: folium.Map,
    fc: dict[str, Any],
    name: str,
    style: Any,
    fields: list[str],
    aliases: list[str],
    *,
    show: bool = True,
) -> None:
    # folium's tooltip needs a feature to read its fields from: an empty layer is left out.
    if fc["features"]:
        folium.GeoJson(
            fc,
            name=name,
            style_function=style,
            tooltip=folium.GeoJsonTooltip(fields, aliases=aliases),
            show=show,
        ).add_to(m)


def build_map(
    session: Session,
    *,
    region: str,
    rules: GridRules,
    minutes: int = 15,
    tile_url: str | None = None,
    tile_attribution: str = "",
) -> folium.Map:
    """The report map of a street (9 digits) or community (12 digits)."""
    if not re.fullmatch(codes.STREET_OR_COMMUNITY, region):
        raise InvalidInput("a report map is of a street (9 digits) or a community (12 digits)")
    row = session.execute(
        select(
            _r.c.name,
            func.ST_XMin(_r.c.geom).label("w"),
            func.ST_YMin(_r.c.geom).label("s"),
            func.ST_XMax(_r.c.geom).label("e"),
            func.ST_YMax(_r.c.geom).label("n"),
        ).where(_r.c.code == region, _r.c.geom.is_not(None))
    ).one_or_none()
    if row is None:
        raise RegionNotFound(f"no street or community {region} with a boundary")
    summary = {g["grid"]: g for g in hh.summary(session, region=region)}
    have_circles = minutes in sc.minutes_available(session)
    coverage = sc.coverage(session, region=region, minutes=minutes) if have_circles else None
    shares = {g["code"]: g for g in (coverage or {}).get("grids", [])}
    counts: dict[str, dict[str, int]] = {}
    for r in session.execute(
        select(_i.c.grid_code, _i.c.list, func.count().label("n"))
        .where(_i.c.grid_code.startswith(region))
        .group_by(_i.c.grid_code, _i.c.list)
    ):
        counts.setdefault(r.grid_code, {})[r.list] = int(r.n)

    grids = _geojson(
        session,
        select(_g.c.code, _g.c.name, _g.c.kind, _g.c.community_code, _g.c.geom).where(
            _g.c.valid_to.is_(None), _g.c.code.startswith(region)
        ),
    )
    for f in grids["features"]:
        p = f["properties"]
        s, c, n = summary.get(p["code"], {}), shares.get(p["code"], {}), counts.get(p["code"], {})
        share = c.get("share")
        p.update(
            households=s.get("households", 0),
            designated=s.get("designated", 0),
            coverage="—" if share is None else f"{share:.1%}",
            resources=n.get("resource", 0),
            needs=n.get("need", 0),
            projects=n.get("project", 0),
        )
    communities = _geojson(
        session,
        select(_r.c.code, _r.c.name, _r.c.geom).where(
            _r.c.level == "community", _r.c.geom.is_not(None), _r.c.code.startswith(region)
        ),
    )
    problems: list[dict[str, Any]] = []
    for c in communities["features"]:
        code = c["properties"]["code"]
        has_grids = any(g["properties"]["community_code"] == code for g in grids["features"])
        if has_grids:
            report = community_coverage(session, community=code, rules=rules)
            for key in ("gaps", "overlaps", "outside"):
                problems += [{**f, "properties": {"kind": key}} for f in report[key]["features"]]

    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    m.default_js = [("leaflet", f"{_INLINE}leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", f"{_INLINE}leaflet/leaflet.css")]
    if tile_url:
        folium.TileLayer(tile_url, attr=tile_attribution or " ", name="底图").add_to(m)
    m.fit_bounds([[row.s, row.w], [row.n, row.e]])

    def style(color: str, fill: str, opacity: float, **extra: Any) -> Any:
        return lambda _f: {
            "color": color,
            "weight": 1.2,
            "fillColor": fill,
            "fillOpacity": opacity,
            **extra,
        }

    _layer(
        m,
        communities,
        "社区",
        style("#6a1b9a", "#000", 0, dashArray="5 4", weight=1.5),
        ["name", "code"],
        ["社区", "编码"],
    )
    _layer(
        m,
        grids,
        "网格",
        lambda f: {
            "color": "#e65100" if f["properties"]["kind"] == "exclusive" else "#1565c0",
            "weight": 1,
            "fillColor": "#ffa726" if f["properties"]["kind"] == "exclusive" else "#42a5f5",
            "fillOpacity": 0.25,
        },
        ["code", "name", "households", "designated", "coverage", "resources", "needs", "projects"],
        ["网格编码", "名称", "户数", "党员中心户", "15分钟圈覆盖", "资源", "需求", "项目"],
    )
    _layer(
        m,
        _fc(problems),
        "覆盖缺口与重叠",
        style("#d50000", "#ff1744", 0.6),
        ["kind"],
        ["问题"],
    )
    if have_circles:
        circles = _geojson(
            session,
            select(_c.c.id, _s.c.name, _c.c.method, _c.c.geom)
            .select_from(_c.join(_s, _s.c.id == _c.c.center_id))
            .where(
                _c.c.minutes == minutes,
                func.ST_Intersects(
                    _c.c.geom, select(_r.c.geom).where(_r.c.code == region).scalar_subquery()
                ),
            ),
            order_by="id",
        )
        _layer(
            m,
            circles,
            f"{minutes}分钟服务圈",
            style("#2e7d32", "#66bb6a", 0.12),
            ["name", "method"],
            ["服务中心", "方法"],
            show=False,
        )
        assert coverage is not None
        _layer(
            m,
            _fc([_escaped(f) for f in coverage["uncovered"]["features"]]),
            "服务圈外楼栋",
            style("#d50000", "#ff5252", 0.7),
            ["address", "households", "metres_to_nearest_circle"],
            ["地址", "户数", "距服务圈(米)"],
        )
    designated = _geojson(session, hh.designated_points(region=region), order_by="id")
    layer = folium.FeatureGroup(name="党员中心户")
    for f in designated["features"]:
        lon, lat = f["geometry"]["coordinates"]
        p = f["properties"]
        folium.CircleMarker(
            [lat, lon],
            radius=4,
            color="#c62828",
            fill=True,
            fill_color="#ffcdd2",
            fill_opacity=1,
            weight=1.5,
            tooltip=f"党员中心户 · {p['address'] or ''} · 服务 {p['serves']} 户",
        ).add_to(layer)
    layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    title = html.escape(f"{row.name}（{region}）")
    legend = (
        '<div style="position:fixed;top:10px;left:50px;z-index:1000;background:#fff;'
        "padding:6px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);"
        f'font:14px sans-serif"><b>{title}</b> · gridmap 报告图 · '
        f"{len(grids['features'])} 个网格</div>"
    )
    root: Any = m.get_root()
    root.html.add_child(folium.Element(legend))
    return m


def render(m: folium.Map, web_dir: Path) -> str:
    """The map as one HTML file, Leaflet's code and style written into it."""
    page = m.get_root().render()

    def inline(match: re.Match[str]) -> str:
        script, style = match.group(1), match.group(2)
        path = (web_dir / "vendor" / (script or style)).resolve()
        if not path.is_relative_to((web_dir / "vendor").resolve()):
            raise InvalidInput("a report map only inlines gridmap's vendored files")
        body = path.read_text(encoding="utf-8")
        if script:
            return "<script>" + body.replace("</script", "<\\/script") + "</script>"
        return "<style>" + body + "</style>"

    return _TAG.sub(inline, page)


def write(m: folium.Map, web_dir: Path, out: Path) -> int:
    """Write the map to ``out``; returns its size in bytes."""
    data = render(m, web_dir).encode("utf-8")
    out.write_bytes(data)
    return len(data)
