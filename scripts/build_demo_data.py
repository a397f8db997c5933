"""Build the demo data set in data/boundaries/ from the real public data in shared/data/real/.

    python scripts/build_demo_data.py [--source ../shared/data/real] [--out data/boundaries]

Real: Haidian's street polygons (beijing-streets, WGS84), its official street and community codes
and names and the community points (adcode, GCJ-02, converted with gridmap's own inverse), and the
OpenStreetMap buildings, roads and points of interest (ODbL). Generated, deterministically from a
fixed seed: community polygons (Voronoi cells of the real points inside their real street), grids,
households, staff, service centres where OSM has none, list items and incidents. No real person.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from demo_field import build_field

import geopandas as gpd
import shapely
import shapely.ops
from shapely.geometry import MultiPolygon, Point, box, mapping
from shapely.geometry.base import BaseGeometry

from gridmap.geo.chinacrs import gcj02_to_wgs84
from gridmap.geo.metric import transformer
from gridmap.geo.partition import (
    absorb_slivers,
    bisect_by_area,
    bisect_by_weight,
    node_partition,
    polygonal,
    voronoi_cells,
)

DISTRICT = "110108"
DISTRICT_NAME = "海淀区"
METRIC = 32650  # UTM 50N covers Beijing
SEED = 20261122
# Streets whose communities are divided into grids: 学院路 in full, and the streets the OSM
# extracts reach with more than a few buildings.
GRID_STREETS = ("学院路", "清华园", "燕园", "北太平庄")
OSM_EXTRACTS = ("osm-beijing-haidian-cau", "osm-beijing-haidian-pku", "osm-beijing-bupt")
# A community point further than this outside its street polygon (the polygons are c. 2014, the
# codes 2016) gets no polygon rather than a made-up one.
SNAP_LIMIT_M = 200.0
MIN_EXCLUSIVE_M2 = {"campus": 15_000.0, "school": 8_000.0, "hospital": 5_000.0, "market": 5_000.0,
                    "office": 8_000.0}
UNMAPPED_GRID_MAX_M2 = 350_000.0
SLIVER_M2 = 3_000.0
NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国海燕红梅晓东志文斌宁浩然雪"

INCIDENT_CATEGORIES = [
    ("市容环境", "暴露垃圾", "general"),
    ("市容环境", "积存垃圾渣土", "general"),
    ("市容环境", "道路不洁", "general"),
    ("宣传广告", "非法小广告", "general"),
    ("宣传广告", "违规户外广告", "general"),
    ("施工管理", "施工扰民", "important"),
    ("施工管理", "无证施工", "important"),
    ("街面秩序", "占道经营", "general"),
    ("街面秩序", "机动车乱停放", "general"),
    ("街面秩序", "共享单车乱停放", "general"),
    ("突发事件", "路面塌陷", "urgent"),
    ("突发事件", "燃气泄漏", "urgent"),
    ("矛盾纠纷", "邻里纠纷", "important"),
    ("矛盾纠纷", "物业纠纷", "important"),
    ("安全隐患", "消防通道堵塞", "important"),
    ("安全隐患", "电动车违规充电", "important"),
    ("民生服务", "老旧小区设施损坏", "general"),
    ("民生服务", "独居老人帮扶", "general"),
]
# The steps of the first loop the demo history was drawn with (how far each incident got).
STATE_FLOW = ["reported", "accepted", "dispatched", "handling", "resolved", "closed", "evaluated"]
LIST_CATEGORIES = ["助老服务", "托育看护", "就业帮扶", "医疗健康", "文体活动", "法律咨询",
                   "环境整治", "志愿服务"]


# Who is whistled (联单) for which category: codes of the departments register
# (departments.csv, build_departments); "{street}" is the incident's street code.
WHISTLED = {
    "积存垃圾渣土": ["{street}-cgzf"],
    "违规户外广告": ["{street}-cgzf"],
    "施工扰民": ["hd-cgzf"],
    "无证施工": ["hd-cgzf", "hd-zj"],
    "占道经营": ["{street}-cgzf"],
    "机动车乱停放": ["{street}-pcs"],
    "路面塌陷": ["hd-sw", "hd-jt"],
    "燃气泄漏": ["hd-rq", "hd-xf"],
    "邻里纠纷": ["{street}-pcs"],
    "物业纠纷": ["hd-zj"],
    "消防通道堵塞": ["hd-xf"],
    "电动车违规充电": ["hd-xf", "{street}-pcs"],
    "老旧小区设施损坏": ["hd-zj"],
    "独居老人帮扶": ["hd-mz"],
}
TASK_FIELDS = ["task_key", "incident_key", "kind", "assignee_kind", "assignee_code",
               "assignee_name", "state", "created_at", "created_by", "report_due_at", "due_at",
               "reported_in_at", "answered_at", "answered_by", "answered_by_person", "feedback",
               "returned_count"]
APPROVAL_FIELDS = ["incident_key", "task_key", "kind", "reason", "hours", "requested_by",
                   "requested_at", "decider_code", "decision"]
POOL_WINDOW = timedelta(minutes=30)


@dataclass
class Run:
    """How one demo incident ran through the flow: its state now, how it was dispatched, how
    often it was reworked, and its events, sub-tasks and pending requests as file rows."""

    state: str
    mode: str | None = None
    returned: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)


def run_incident(key: str, times: list[datetime], *, grid_code: str, category: tuple[str, str],
                 score: int | None, street_name: str, grid_name: str,
                 workers: list[dict[str, Any]], department_names: dict[str, str]) -> Run:
    """Run an incident through 上报 → 立案 → 抢单/派单 → 分单/联单 → 报到 → 反馈 → 结案 → 考评.

    ``times`` are the moments of the first-loop history (report, accept, dispatch, handling,
    resolved, closed, evaluated: as many as steps it reached); the flow keeps them, adding the
    pool window, the report-ins and answers of each sub-task and any rework in between.
    """
    r = rng_for("flow", key)
    street = grid_code[:9]
    centre, system = f"{street_name}指挥中心", "system"
    worker = r.choice(workers) if workers else None
    reporter = worker["name"] if worker else "12345热线"
    run = Run(state="reported")
    last = [times[0]]

    def event(action: str, to: str, at: datetime, actor: str, note: str | None = None,
              task: str | None = None) -> datetime:
        at = max(at, last[0] + timedelta(minutes=1)) if run.events else at
        last[0] = at
        run.events.append({"incident_key": key, "seq": len(run.events) + 1, "action": action,
                           "to_status": to, "actor": actor, "at": at.isoformat(), "note": note,
                           "task_key": task})
        return at

    # the words gridmap.services.pool writes when the window closes
    closed = (f"the pool window closed: queued for {DISTRICT} to dispatch, to street {street} "
              "by default")
    event("report", "reported", times[0], reporter)
    if len(times) == 1:
        return run
    accepted = event("accept", "pooled", times[1], centre)
    if len(times) == 2:
        event("pool_close", "queued", accepted + POOL_WINDOW, "system (pool window)", note=closed)
        run.state = "queued"
        return run
    if r.random() < 0.6:
        run.mode = "claim"
        event("claim", "dispatched", accepted + timedelta(minutes=r.randrange(3, 29)), centre)
        shift = timedelta(0)
    else:
        run.mode = "dispatch"
        event("pool_close", "queued", accepted + POOL_WINDOW, "system (pool window)", note=closed)
        shift = POOL_WINDOW
        event("dispatch", "dispatched", times[2] + shift, f"{DISTRICT_NAME}指挥中心")
    times = [*times[:2], *(t + shift for t in times[2:])]
    if len(times) == 3 and r.random() < 0.3:
        run.state = "dispatched"
        return run

    # 分单 to the grid's team, 联单 to the departments the category calls for
    split_at = times[2] + timedelta(minutes=r.randrange(5, 60))
    named = WHISTLED.get(category[1], []) if r.random() < 0.7 else []
    tasks: list[dict[str, Any]] = []
    for code in [grid_code, *(c.format(street=street) for c in named)]:
        name = department_names.get(code, grid_name)
        whistle = code != grid_code
        task_key = f"{key}-{len(tasks) + 1}"
        at = event("whistle" if whistle else "split", "handling", split_at, centre,
                   note=None if whistle else "交网格处置", task=task_key)
        tasks.append({
            "task_key": task_key, "incident_key": key, "kind": "whistle" if whistle else "split",
            "assignee_kind": "department" if whistle else "grid", "assignee_code": code,
            "assignee_name": name, "state": "assigned", "created_at": at.isoformat(),
            "created_by": centre,
            "report_due_at": (at + timedelta(hours=2)).isoformat() if whistle else None,
            # a split task falls due with its incident (the loader gives it the incident's time)
            "due_at": (at + timedelta(hours=24 if r.random() < 0.5 else 48)).isoformat()
            if whistle else None,
            "reported_in_at": None, "answered_at": None, "answered_by": None,
            "answered_by_person": None, "feedback": None, "returned_count": 0,
        })
    run.tasks = tasks
    run.state = "handling"

    def who(task: dict[str, Any]) -> str:
        if task["kind"] == "whistle":
            return str(task["assignee_name"])
        return worker["name"] if worker else f"{grid_name}网格"

    if len(times) >= 4:
        for task in tasks:
            at = event("report_in", "handling", times[3] + timedelta(minutes=r.randrange(0, 40)),
                       who(task), task=task["task_key"])
            task["state"], task["reported_in_at"] = "working", at.isoformat()
    if len(times) <= 4:
        if r.random() < 0.15:
            on_task = tasks[-1] if tasks[-1]["kind"] == "whistle" and r.random() < 0.5 else None
            kind = "park" if on_task is None and r.random() < 0.25 else "extend"
            reason = {"extend": "需协调产权单位，申请延期", "park": "涉及拆迁规划，暂无法处置"}[kind]
            at = event(f"request_{kind}", "handling", last[0] + timedelta(hours=r.randrange(1, 8)),
                       who(on_task) if on_task else centre, note=reason,
                       task=on_task["task_key"] if on_task else None)
            run.approvals.append({
                "incident_key": key, "task_key": on_task["task_key"] if on_task else None,
                "kind": kind, "reason": reason, "hours": 48 if kind == "extend" else None,
                "requested_by": who(on_task) if on_task else centre, "requested_at": at.isoformat(),
                "decider_code": street if on_task else DISTRICT, "decision": "pending",
            })
        return run

    def answer_all(until: datetime, note: str) -> datetime:
        # the departments answer first, the grid's team last; then the incident is resolved
        order = sorted(tasks, key=lambda t: t["kind"] == "split")
        for i, task in enumerate(order):
            at = until - timedelta(minutes=r.randrange(5, 90) * (len(order) - 1 - i))
            at = event("answer", "handling", at, who(task), note=note, task=task["task_key"])
            task.update(state="answered", answered_at=at.isoformat(), answered_by=who(task),
                        feedback=note, answered_by_person=person_key_of(worker)
                        if task["kind"] == "split" and worker else None)
        return event("resolve", "resolved", last[0], system, note="every sub-task answered")

    resolved = answer_all(times[4], "已现场处置完毕")
    run.state = "resolved"
    later = times[5:]
    if later and r.random() < 0.15:
        reworked = event("rework", "handling", resolved + timedelta(minutes=r.randrange(30, 300)),
                         centre, note="反馈与现场不符，退回重办")
        run.returned = 1
        for task in tasks:
            task.update(state="working", returned_count=1)
        again = answer_all(reworked + timedelta(hours=r.randrange(2, 20)), "已重新处置")
        gap = again + timedelta(minutes=r.randrange(10, 120)) - later[0]
        if gap > timedelta(0):
            later = [t + gap for t in later]
    if later:
        event("close", "closed", later[0], centre, note="核查属实，结案")
        run.state = "closed"
    if len(later) > 1:
        event("evaluate", "evaluated", later[1], centre, note=f"考评 {score} 分")
        run.state = "evaluated"
    return run


def person_key_of(row: dict[str, Any]) -> str:
    """The key the loader gives a person of grid_staff.csv (gridmap.loader.person_key)."""
    return f"{row['name']}|{row.get('phone') or row['grid_code']}"


def rng_for(*key: object) -> random.Random:
    """A random generator seeded by a key, so every item's made-up values are reproducible."""
    digest = hashlib.sha256(("|".join(map(str, (SEED, *key)))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.column_stack(
        transformer(4326, METRIC).transform(c[:, 0], c[:, 1])))


def to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    # Rounding each vertex on its own keeps vertices shared by neighbours identical.
    out = shapely.transform(geom, lambda c: np.round(np.column_stack(
        transformer(METRIC, 4326).transform(c[:, 0], c[:, 1])), 7))
    if not out.is_valid:
        out = polygonal(shapely.make_valid(out)) if out.geom_type.endswith("Polygon") else out
    return out


def as_multi(geom: BaseGeometry) -> MultiPolygon:
    geom = polygonal(geom)
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    return MultiPolygon([g for g in geom.geoms if g.geom_type == "Polygon"])


def short_street(name: str) -> str:
    return re.sub(r"(街道办事处|地区办事处|街道|镇|乡)$", "", name)


def community_name(official: str) -> str:
    if official.endswith("社区居委会"):
        return official[: -len("居委会")]
    if official.endswith("村委会"):
        return official[: -len("委会")]
    return official


def fake_person(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    phone = "1" + rng.choice(("38", "39", "58", "86")) + "0000" + f"{rng.randrange(10_000):04d}"
    return name, phone


def read_adcode(source: Path) -> tuple[list[dict[str, str]], dict[str, Point]]:
    rows = []
    with (source / "adcode" / "orig" / f"adcode_{DISTRICT}.csv").open(encoding="utf-8") as fh:
        for rec in csv.reader(fh):
            rows.append({"code": rec[0], "parent": rec[1], "name": rec[2], "level": rec[3]})
    units = json.loads((source / "adcode" / f"units_{DISTRICT}_gcj02.geojson").read_text("utf-8"))
    codes = [f["properties"]["code"] for f in units["features"]]
    lon = [f["geometry"]["coordinates"][0] for f in units["features"]]
    lat = [f["geometry"]["coordinates"][1] for f in units["features"]]
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    points = {c: Point(float(x), float(y)) for c, x, y in zip(codes, wlon, wlat, strict=True)}
    return rows, points


def build_regions(source: Path) -> tuple[list[dict[str, Any]], dict[str, BaseGeometry]]:
    """District, streets and communities, with metric geometries keyed by code."""
    rows, points = read_adcode(source)
    streets_gdf = gpd.read_file(source / "beijing-streets" / "beijing_streets_towns_wgs84.geojson")
    streets_gdf = streets_gdf[streets_gdf["county"] == DISTRICT_NAME]
    polygons = {short_street(r.town): r.geometry for r in streets_gdf.itertuples()}

    regions: list[dict[str, Any]] = []
    metric: dict[str, BaseGeometry] = {}
    street_rows = [r for r in rows if r["level"] == "town"]
    community_rows = [r for r in rows if r["level"] == "village"]
    street_geoms = {}
    for r in street_rows:
        key = short_street(r["name"])
        if key not in polygons:
            raise SystemExit(f"no polygon for street {r['name']}")
        street_geoms[r["code"][:9]] = to_metric(polygons[key])
    district_metric = shapely.union_all(list(street_geoms.values()))
    district_point = points.get(f"{DISTRICT}000000")
    regions.append({"wgs": as_multi(shapely.union_all(list(polygons.values()))),
                    "code": DISTRICT, "level": "district", "name": DISTRICT_NAME,
                    "official_name": DISTRICT_NAME, "parent_code": None,
                    "source": "union of the street polygons (beijing-streets)",
                    "label": district_point, "geom": district_metric})
    for r in street_rows:
        code = r["code"][:9]
        name = short_street(r["name"]) + ("街道" if "街道" in r["name"] else "地区")
        key = short_street(r["name"])
        regions.append({"wgs": as_multi(polygons[key]), "code": code, "level": "street", "name": name, "official_name": r["name"],
                        "parent_code": DISTRICT, "source": "beijing-streets (c. 2014), adcode codes",
                        "label": points.get(r["code"]), "geom": street_geoms[code]})

    by_street: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in community_rows:
        by_street[r["code"][:9]].append(r)
    for street_code, members in sorted(by_street.items()):
        street = street_geoms[street_code]
        inner = street.buffer(-10.0)
        seeds: list[tuple[str, Point]] = []
        for r in members:
            p = points.get(r["code"])
            if p is None:
                continue
            pm = to_metric(p)
            if street.contains(pm):
                seeds.append((r["code"], pm))
            elif street.distance(pm) <= SNAP_LIMIT_M and not inner.is_empty:
                seeds.append((r["code"], shapely.ops.nearest_points(inner, pm)[0]))
        cells = dict(zip([c for c, _ in seeds], voronoi_cells(street, [p for _, p in seeds]),
                         strict=True))
        seed_points = dict(seeds)
        for r in members:
            code = r["code"]
            regions.append({
                "code": code, "level": "community", "name": community_name(r["name"]),
                "official_name": r["name"], "parent_code": street_code,
                "source": ("Voronoi cell of the adcode community point within its street"
                           if code in cells else "adcode code and name only (no usable point)"),
                "label": to_wgs84(seed_points[code]) if code in seed_points else None,
                "geom": cells.get(code),
            })
    for reg in regions:
        if reg["geom"] is not None:
            metric[reg["code"]] = reg["geom"]
    return regions, metric


def osm_layer(source: Path, suffix: str) -> gpd.GeoDataFrame:
    frames = []
    for extract in OSM_EXTRACTS:
        name = extract.removeprefix("osm-")
        frame = gpd.read_file(source / extract / f"{name}_{suffix}.geojson")
        frame["extract"] = extract
        frames.append(frame)
    merged = gpd.GeoDataFrame(
        gpd.pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326
    )
    return merged.drop_duplicates(subset="osm_id").reset_index(drop=True)


def osm_extent(source: Path) -> BaseGeometry:
    boxes = []
    for extract in OSM_EXTRACTS:
        head = (source / extract / "map.osm").read_text("utf-8")[:2000]
        m = re.search(r'<bounds minlat="([\d.]+)" minlon="([\d.]+)" maxlat="([\d.]+)" '
                      r'maxlon="([\d.]+)"', head)
        if not m:
            raise SystemExit(f"no <bounds> in {extract}/map.osm")
        minlat, minlon, maxlat, maxlon = map(float, m.groups())
        boxes.append(box(minlon, minlat, maxlon, maxlat))
    return to_metric(shapely.union_all(boxes))


def building_households(use: str, floors: int, footprint_m2: float) -> int:
    """Households generated from floors and footprint: 75 % usable floor space, 90 m² a home.

    Capped at 240: OSM sometimes outlines a whole compound as one "building".
    """
    if use != "residential":
        return 0
    return min(240, max(1, round(footprint_m2 * floors * 0.75 / 90.0)))


def classify_buildings(buildings: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> None:
    residential_areas = shapely.union_all(
        list(areas[areas["landuse"] == "residential"].geometry.map(to_metric))
    )
    uses, floors = [], []
    for row in buildings.itertuples():
        kind = (row.building or "yes").lower()
        levels = row.levels if isinstance(row.levels, str) else ""
        m = re.match(r"\d+", levels)
        geom = row.metric
        if kind in ("residential", "apartments", "house", "detached", "terrace"):
            use = "residential"
        elif kind == "yes" and residential_areas.contains(geom.representative_point()):
            use = "residential"
        elif kind in ("dormitory",):
            use = "dormitory"
        elif kind in ("university", "college", "school", "kindergarten"):
            use = "education"
        elif kind in ("hospital", "clinic"):
            use = "health"
        elif kind in ("commercial", "retail", "office"):
            use = "commercial"
        else:
            use = "other"
        default = {"apartments": 12, "house": 2, "detached": 2, "terrace": 3}.get(kind, 6)
        uses.append(use)
        floors.append(max(1, min(60, int(m.group(0)))) if m else default)
    buildings["use"] = uses
    buildings["floors"] = floors


def exclusive_candidates(areas: gpd.GeoDataFrame) -> list[tuple[str, str, BaseGeometry]]:
    # Residential compounds inside a campus are basic grids of their own, not the campus's.
    homes = shapely.union_all(list(areas[areas["landuse"] == "residential"].metric))
    out = []
    for row in areas.itertuples():
        amenity, landuse = row.amenity, row.landuse
        subtype = None
        if amenity in ("university", "college"):
            subtype = "campus"
        elif amenity in ("school", "kindergarten"):
            subtype = "school"
        elif amenity in ("hospital", "clinic"):
            subtype = "hospital"
        elif amenity == "marketplace" or landuse == "retail":
            subtype = "market"
        elif landuse == "commercial":
            subtype = "office"
        if subtype:
            label = row.name if isinstance(row.name, str) and row.name else None
            out.append((subtype, label or "", polygonal(row.metric.difference(homes))))
    # Larger areas first: a campus claims its ground before the schools inside it.
    out.sort(key=lambda t: -t[2].area)
    return out


SUBTYPE_LABEL = {"campus": "校园", "school": "学校", "hospital": "医院", "market": "商场市场",
                 "office": "商务楼宇"}


def grid_order(parts: list[BaseGeometry], community: BaseGeometry) -> list[int]:
    """Indices of ``parts`` numbered north→south in 500 m rows, west→east within a row."""
    top = community.bounds[3]

    def key(i: int) -> tuple[int, float]:
        c = parts[i].representative_point()
        return (int((top - c.y) // 500.0), c.x)

    return sorted(range(len(parts)), key=key)


def build_grids(
    regions: list[dict[str, Any]], metric: dict[str, BaseGeometry], buildings: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame, extent: BaseGeometry,
) -> list[dict[str, Any]]:
    candidates = exclusive_candidates(areas)
    streets = {r["code"]: r for r in regions if r["level"] == "street"}
    grid_street_codes = {c for c, r in streets.items() if short_street(r["name"]) in GRID_STREETS}
    points = np.array([[p.x, p.y] for p in buildings["metric"].map(lambda g: g.representative_point())])
    households = buildings["households"].to_numpy(dtype=float)
    grids: list[dict[str, Any]] = []
    for reg in regions:
        if reg["level"] != "community" or reg["parent_code"] not in grid_street_codes:
            continue
        community = metric.get(reg["code"])
        if community is None or community.is_empty:
            continue
        parts: list[tuple[str | None, str, BaseGeometry]] = []
        taken: list[BaseGeometry] = []
        for subtype, label, geom in candidates:
            piece = polygonal(geom.intersection(community))
            if taken and not piece.is_empty:
                piece = polygonal(piece.difference(shapely.union_all(taken)))
            if piece.is_empty or piece.area < MIN_EXCLUSIVE_M2[subtype]:
                continue
            if len(points) and households[shapely.contains_xy(piece, points[:, 0], points[:, 1])].sum() > 500:
                # Too many homes for one exclusive grid: leave the ground to the basic grids.
                continue
            parts.append((subtype, label, piece))
            taken.append(piece)
        rest = community if not taken else polygonal(community.difference(shapely.union_all(taken)))
        if not rest.is_empty:
            inside = shapely.contains_xy(rest, points[:, 0], points[:, 1]) if len(points) else []
            mapped_hh = float(households[inside].sum()) if len(points) else 0.0
            if mapped_hh >= 150:
                sel = inside & (households > 0)
                reach = extent.buffer(100.0)
                for leaf in bisect_by_weight(rest, points[sel], households[sel]):
                    beyond = polygonal(leaf.difference(reach))
                    if beyond.area > UNMAPPED_GRID_MAX_M2 / 2:
                        # Ground beyond the mapped buildings is cut by area, not by households.
                        parts.append((None, "", polygonal(leaf.intersection(reach))))
                        parts += [(None, "", p) for p in
                                  bisect_by_area(beyond, maximum=UNMAPPED_GRID_MAX_M2)]
                    else:
                        parts.append((None, "", leaf))
            else:
                for p in bisect_by_area(rest, maximum=UNMAPPED_GRID_MAX_M2):
                    parts.append((None, "", p))
        geoms = absorb_slivers([p[2] for p in parts], min_area=SLIVER_M2)
        if len(geoms) != len(parts):
            # A part made only of slivers was absorbed; keep attributes of the survivors.
            kept = [p for p in parts if any(g.intersects(p[2].representative_point()) for g in geoms)]
            parts = kept[: len(geoms)]
        parts = [(s, label, g) for (s, label, _), g in zip(parts, geoms, strict=True)]
        order = grid_order([g for _, _, g in parts], community)
        seq_basic = 0
        for n, i in enumerate(order, start=1):
            subtype, label, geom = parts[i]
            code = f"{reg['code']}{n:03d}"
            if subtype is None:
                seq_basic += 1
                name = f"{reg['name']}第{seq_basic}网格"
            else:
                name = f"{label or reg['name'] + SUBTYPE_LABEL[subtype]}专属网格"
            grids.append({
                "code": code, "community_code": reg["code"], "name": name,
                "kind": "basic" if subtype is None else "exclusive", "subtype": subtype,
                "metric": geom,
            })
    return grids


def node_streets(
    regions: list[dict[str, Any]], metric: dict[str, BaseGeometry], grids: list[dict[str, Any]]
) -> None:
    """Re-node each street's communities and grids together so all shared edges match exactly."""
    grids_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in grids:
        grids_of[g["community_code"]].append(g)
    by_code = {r["code"]: r for r in regions}
    for street in [r for r in regions if r["level"] == "street"]:
        entries: list[tuple[str, Any]] = []
        for reg in regions:
            if reg["parent_code"] != street["code"] or reg["geom"] is None:
                continue
            if grids_of.get(reg["code"]):
                entries += [("grid", g) for g in grids_of[reg["code"]]]
            else:
                entries.append(("community", reg))
        if not entries:
            continue
        shapes = [e[1]["metric"] if e[0] == "grid" else e[1]["geom"] for e in entries]
        noded = node_partition(metric[street["code"]], shapes)
        # Projecting back to lon/lat can fold a vertex over its neighbour where an edge grazes
        # another; coverage_clean puts the shared edges of the projected parts right again.
        wgs = shapely.coverage_clean([to_wgs84(g) for g in noded])
        for (kind, item), geom, lonlat in zip(entries, noded, wgs, strict=True):
            if kind == "grid":
                item["metric"] = geom
                item["wgs"] = as_multi(lonlat)
            else:
                item["geom"] = geom
                item["wgs"] = as_multi(lonlat)
        for code, members in grids_of.items():
            if code[:9] == street["code"]:
                by_code[code]["geom"] = shapely.union_all([g["metric"] for g in members])
                by_code[code]["wgs"] = as_multi(shapely.union_all([g["wgs"] for g in members]))
    for reg in regions:
        if reg["geom"] is not None:
            metric[reg["code"]] = reg["geom"]


def assign_codes(points_metric: list[Point], grids: list[dict[str, Any]]) -> list[str | None]:
    """The grid code of each point (lowest code wins on a shared border, as in the service)."""
    tree = shapely.STRtree([g["metric"] for g in grids])
    out: list[str | None] = []
    for p in points_metric:
        hits = tree.query(p, predicate="intersects")
        out.append(min((grids[int(i)]["code"] for i in hits), default=None))
    return out


def feature(geom: BaseGeometry, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def write_geojson(path: Path, features: list[dict[str, Any]], name: str) -> None:
    doc = {"type": "FeatureCollection", "name": name, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")


def write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})


# Haidian's district departments (codes fixed: pages, tests and the demo's tasks name them) and,
# per street, its 城管执法队 and 派出所. Illustrative names in the usual official form.
DISTRICT_DEPARTMENTS = [
    ("hd-cgzf", "海淀区城市管理综合行政执法局", "城管执法"),
    ("hd-zj", "海淀区住房和城乡建设委员会", "住建"),
    ("hd-scjg", "海淀区市场监督管理局", "市场监管"),
    ("hd-sthj", "海淀区生态环境局", "生态环境"),
    ("hd-xf", "海淀区消防救援支队", "消防"),
    ("hd-wj", "海淀区卫生健康委员会", "卫健"),
    ("hd-mz", "海淀区民政局", "民政"),
    ("hd-sw", "海淀区水务局", "水务"),
    ("hd-jt", "海淀区交通委员会", "交通"),
    ("hd-yl", "海淀区园林绿化局", "园林绿化"),
    ("hd-gd", "国网北京海淀供电公司", "供电"),
    ("hd-rq", "北京市燃气集团海淀分公司", "燃气"),
    ("hd-rl", "北京市热力集团海淀分公司", "热力"),
    ("hd-gh", "北京市规划和自然资源委员会海淀分局", "规划自然资源"),
    ("hd-yj", "海淀区应急管理局", "应急管理"),
    ("hd-rs", "海淀区人力资源和社会保障局", "人力社保"),
    ("hd-fg", "海淀区房屋管理局", "房屋管理"),
    ("hd-jy", "海淀区教育委员会", "教育"),
    ("hd-wl", "海淀区文化和旅游局", "文化旅游"),
]


def build_departments(streets: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The district's departments, then each street's 城管执法队 and 派出所 (streets by code)."""
    rows = [
        {"code": code, "name": name, "kind": kind, "level": "district", "region_code": DISTRICT}
        for code, name, kind in DISTRICT_DEPARTMENTS
    ]
    for code, name in sorted(streets):
        rows.append({"code": f"{code}-cgzf", "name": f"{name}城管执法队", "kind": "城管执法",
                     "level": "street", "region_code": code})
        rows.append({"code": f"{code}-pcs", "name": f"北京市公安局海淀分局{short_street(name)}派出所",
                     "kind": "公安派出所", "level": "street", "region_code": code})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--source", type=Path, default=root.parent / "shared" / "data" / "real")
    parser.add_argument("--out", type=Path, default=root / "data" / "boundaries")
    args = parser.parse_args()
    source, out = args.source, args.out
    out.mkdir(parents=True, exist_ok=True)

    regions, metric = build_regions(source)
    extent = osm_extent(source)

    buildings = osm_layer(source, "buildings")
    areas = osm_layer(source, "areas")
    roads = osm_layer(source, "roads")
    pois = osm_layer(source, "pois")
    buildings["metric"] = buildings.geometry.map(to_metric)
    areas["metric"] = areas.geometry.map(to_metric)
    buildings = buildings[buildings["metric"].map(lambda g: g.is_valid and g.area > 10)].copy()
    buildings = buildings.rename(columns={"building:levels": "levels", "addr:street": "addr_street",
                                          "addr:housenumber": "addr_housenumber"})
    classify_buildings(buildings, areas)
    buildings["households"] = [
        building_households(u, f, g.area)
        for u, f, g in zip(buildings["use"], buildings["floors"], buildings["metric"], strict=True)
    ]

    grids = build_grids(regions, metric, buildings, areas, extent)
    node_streets(regions, metric, grids)
    gridded = shapely.union_all([g["metric"] for g in grids])
    reps = [g.representative_point() for g in buildings["metric"]]
    keep = [gridded.contains(p) for p in reps]
    buildings = buildings[keep].reset_index(drop=True)
    reps = [p for p, k in zip(reps, keep, strict=True) if k]
    building_grid = assign_codes(reps, grids)
    hh_by_grid: dict[str, int] = defaultdict(int)
    for code, hh in zip(building_grid, buildings["households"], strict=True):
        if code:
            hh_by_grid[code] += int(hh)

    # ---- regions -------------------------------------------------------------------------
    region_features = []
    for reg in regions:
        if reg["geom"] is None:
            geom = None
        else:
            geom = reg.get("wgs") or to_wgs84(as_multi(reg["geom"]))
        label = reg["label"]
        region_features.append({
            "type": "Feature",
            "properties": {
                "code": reg["code"], "level": reg["level"], "name": reg["name"],
                "official_name": reg["official_name"], "parent_code": reg["parent_code"],
                "source": reg["source"],
                "label_lon": round(label.x, 7) if label is not None else None,
                "label_lat": round(label.y, 7) if label is not None else None,
            },
            "geometry": mapping(geom) if geom is not None else None,
        })
    write_geojson(out / "regions.geojson", region_features, "regions")
    departments = build_departments([(f["properties"]["code"], f["properties"]["name"])
                                     for f in region_features
                                     if f["properties"]["level"] == "street"])
    write_csv(out / "departments.csv", departments, ["code", "name", "kind", "level", "region_code"])

    # ---- grids and staff --------------------------------------------------------------------
    grid_features, staff = [], []
    for g in grids:
        hh = hh_by_grid.get(g["code"], 0)
        inside_extent = g["metric"].intersection(extent).area / g["metric"].area
        grid_features.append(feature(g["wgs"], {
            "code": g["code"], "community_code": g["community_code"], "name": g["name"],
            "kind": g["kind"], "subtype": g["subtype"], "households": hh,
            "source": ("cut from OSM buildings by households" if inside_extent > 0.5 and hh
                       else "cut by area (no mapped buildings)"),
        }))
        rng = rng_for("staff", g["code"])
        for role in ("leader", "worker", "worker", "police"):
            name, phone = fake_person(rng)
            staff.append({"grid_code": g["code"], "role": role, "name": name, "phone": phone})
    write_geojson(out / "grids.geojson", grid_features, "grids")
    write_csv(out / "grid_staff.csv", staff, ["grid_code", "role", "name", "phone"])

    # ---- buildings and households --------------------------------------------------------------
    compound_areas = areas[(areas["landuse"] == "residential") & areas["name"].notna()]
    compounds = [(row.name, row.metric) for row in compound_areas.itertuples()]
    street_of = {r["code"]: r for r in regions}
    building_features, households = [], []
    per_compound: dict[str, int] = defaultdict(int)
    for i, row in enumerate(buildings.itertuples()):
        grid_code = building_grid[i]
        community = street_of[grid_code[:12]] if grid_code else None
        street = street_of[grid_code[:9]] if grid_code else None
        code = f"{grid_code[:12]}{i + 1:04d}" if grid_code else f"B{i + 1:06d}"
        rep = reps[i]
        compound = next((n for n, geom in compounds if geom.contains(rep)), None)
        if isinstance(row.addr_street, str) and row.addr_street:
            number_part = row.addr_housenumber if isinstance(row.addr_housenumber, str) else ""
            place = row.addr_street + (number_part + "号院" if number_part else "")
        elif compound:
            place = compound
        elif isinstance(row.name, str) and row.name:
            place = row.name
        else:
            place = (community["name"] if community else "")
        per_compound[place] += 1
        number = per_compound[place]
        address = f"北京市海淀区{street['name'] if street else ''}{place}{number}号楼"
        building_features.append(feature(to_wgs84(row.metric), {
            "code": code, "address": address,
            "name": row.name if isinstance(row.name, str) else None,
            "use": row.use, "floors": int(row.floors), "households": int(row.households),
            "osm_id": str(row.osm_id), "source": f"OpenStreetMap ({row.extract})",
        }))
        hh_total = int(row.households)
        if hh_total == 0:
            continue
        rng = rng_for("households", code)
        floors = int(row.floors)
        per_floor = 2
        units = max(1, math.ceil(hh_total / (floors * per_floor)))
        made: list[dict[str, Any]] = []
        for unit in range(1, units + 1):
            for floor in range(1, floors + 1):
                for door in range(1, per_floor + 1):
                    if len(made) >= hh_total:
                        break
                    roll = rng.random()
                    made.append({"building_code": code, "unit": f"{unit}单元",
                                 "room": f"{floor}{door:02d}",
                                 "party_members": 2 if roll < 0.03 else (1 if roll < 0.15 else 0),
                                 "designated": False, "served_by_room": None,
                                 "contact_name": None, "contact_phone": None})
        # One designated household (党员中心户) for every group of about 15 neighbours.
        for start in range(0, len(made), 15):
            group = made[start : start + 15]
            if len(group) < 5:
                continue
            head = max(group, key=lambda h: (h["party_members"], -group.index(h)))
            head["designated"] = True
            head["party_members"] = max(1, head["party_members"])
            head["contact_name"], head["contact_phone"] = fake_person(rng)
            for h in group:
                if h is not head:
                    h["served_by_room"] = f"{head['unit']}/{head['room']}"
        households += made
    write_geojson(out / "buildings.geojson", building_features, "buildings")
    write_csv(out / "households.csv", households,
              ["building_code", "unit", "room", "designated", "party_members", "served_by_room",
               "contact_name", "contact_phone"])

    # ---- roads (the walking network is built from these at load time) ---------------------------
    gridded_wgs = to_wgs84(gridded).buffer(0.002)
    road_features = [
        feature(shapely.transform(row.geometry, lambda c: np.round(c, 7)), {
            "osm_id": str(row.osm_id), "name": row.name if isinstance(row.name, str) else None,
            "highway": row.highway,
        })
        for row in roads.itertuples()
        if row.geometry.geom_type == "LineString" and row.geometry.intersects(gridded_wgs)
    ]
    write_geojson(out / "roads.geojson", road_features, "roads")

    # ---- service centres ---------------------------------------------------------------------
    centers = []
    poi_kinds = {"social_centre": "red_station", "community_centre": "red_station",
                 "post_office": "convenience_station"}
    for row in pois.itertuples():
        kind = poi_kinds.get(row.amenity) if isinstance(row.amenity, str) else None
        if kind and gridded.contains(to_metric(row.geometry)):
            label = row.name if isinstance(row.name, str) and row.name else (
                "红色驿站" if kind == "red_station" else "便民服务站")
            centers.append(feature(row.geometry, {
                "code": f"SC-OSM-{row.osm_id}", "kind": kind, "name": label,
                "opening_hours": row.opening_hours if isinstance(row.opening_hours, str) else None,
                "region_code": None, "source": "OpenStreetMap point of interest",
            }))
    community_codes = sorted({g["community_code"] for g in grids})
    street_codes = sorted({c[:9] for c in community_codes})
    for code, level, hours in [
        *((c, "community", "Mo-Fr 08:30-17:30; Sa 09:00-12:00") for c in community_codes),
        *((c, "street", "Mo-Fr 08:30-17:30") for c in street_codes),
    ]:
        reg = street_of[code]
        point = reg["label"] or to_wgs84(metric[code].representative_point())
        centers.append(feature(point, {
            "code": f"SC-{code}", "kind": "party_mass_center",
            "name": f"{reg['name']}党群服务中心", "opening_hours": hours,
            "region_code": code, "source": f"generated at the adcode {level} point",
        }))
    write_geojson(out / "service_centers.geojson", centers, "service_centers")

    # ---- the three lists ---------------------------------------------------------------------
    rng = rng_for("lists")
    unit_names = sorted({n for n in areas["name"].dropna() if re.search(r"大学|学院|中学|医院|研究", n)})
    list_features = []
    residential = [i for i in range(len(buildings)) if buildings["households"].iloc[i] > 0]
    for n in range(90):
        kind = ("resource", "need", "project")[n % 3]
        i = rng.choice(residential)
        point = to_wgs84(reps[i])
        category = rng.choice(LIST_CATEGORIES)
        owner_kind = {"resource": "unit", "need": "resident", "project": "branch"}[kind]
        owner = (rng.choice(unit_names) if owner_kind == "unit" and unit_names
                 else ("居民" if owner_kind == "resident" else f"{street_of[building_grid[i][:12]]['name']}党支部"))
        title = {"resource": f"{owner}提供{category}资源", "need": f"居民{category}需求",
                 "project": f"{category}项目"}[kind]
        contact, phone = fake_person(rng)
        list_features.append(feature(point, {
            "code": f"L{n + 1:04d}", "list": kind, "category": category, "title": title,
            "owner_kind": owner_kind, "owner_name": owner, "contact_name": contact,
            "contact_phone": phone,
            "status": rng.choice(("open", "open", "matched", "in_progress", "done")),
            "source": "generated",
        }))
    write_geojson(out / "list_items.geojson", list_features, "list_items")

    # ---- incidents ---------------------------------------------------------------------------
    # The draws of each incident's place, category, report time, final state and step gaps are
    # those the data set has always had; how it ran through the flow is drawn apart (per key),
    # so the same seed gives the same files and the history keeps its shape.
    rng = rng_for("incidents")
    grid_polys = [g["metric"] for g in grids]
    workers_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in staff:
        if row["role"] == "worker":
            workers_of[row["grid_code"]].append(row)
    department_names = {d["code"]: d["name"] for d in departments}
    incidents, events, tasks, approvals = [], [], [], []
    for n in range(300):
        index = rng.randrange(len(grid_polys))
        g = grid_polys[index]
        minx, miny, maxx, maxy = g.bounds
        while True:
            p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if g.contains(p):
                break
        klass, category, severity = rng.choice(INCIDENT_CATEGORIES)
        reported = NOW - timedelta(minutes=rng.randrange(60 * 24 * 100))
        steps = rng.choices(range(1, len(STATE_FLOW) + 1), weights=[2, 2, 3, 3, 3, 6, 8])[0]
        key = f"demo-{n + 1:04d}"
        name, phone = fake_person(rng)
        at, times = reported, [reported]
        for _ in STATE_FLOW[1:steps]:
            at += timedelta(minutes=rng.randrange(20, 60 * 30))
            times.append(at)
        score = rng.randrange(70, 101) if steps == len(STATE_FLOW) else None
        grid_code = grids[index]["code"]
        run = run_incident(
            key, times, grid_code=grid_code, category=(klass, category), score=score,
            street_name=street_of[grid_code[:9]]["name"], grid_name=grids[index]["name"],
            workers=workers_of[grid_code],
            department_names=department_names,
        )
        events += run.events
        tasks += run.tasks
        approvals += run.approvals
        incidents.append(feature(to_wgs84(p), {
            "idempotency_key": key, "category": f"{klass}/{category}", "severity": severity,
            "description": f"{category}：巡查发现，请处置。", "reporter_name": name,
            "reporter_phone": phone, "status": run.state, "reported_at": reported.isoformat(),
            "score": score, "dispatch_mode": run.mode, "returned_count": run.returned,
            "source": "generated",
        }))
    write_geojson(out / "incidents.geojson", incidents, "incidents")
    write_csv(out / "incident_events.csv", events,
              ["incident_key", "seq", "action", "to_status", "actor", "at", "note", "task_key"])
    write_csv(out / "incident_tasks.csv", tasks, TASK_FIELDS)
    write_csv(out / "approvals.csv", approvals, APPROVAL_FIELDS)

    counts = {
        "regions": len(region_features), "departments": len(departments), "grids": len(grid_features), "grid_staff": len(staff),
        "buildings": len(building_features), "households": len(households),
        "roads": len(road_features), "service_centers": len(centers),
        "list_items": len(list_features), "incidents": len(incidents),
        "incident_events": len(events), "incident_tasks": len(tasks),
        "approvals": len(approvals),
    }
    # care tags, visits and patrols, drawn from the files just written
    counts.update(build_field(out))
    (out / "manifest.json").write_text(json.dumps({
        "name": "haidian-demo", "district": DISTRICT, "crs": "EPSG:4326", "counts": counts,
        "attribution": [
            "© OpenStreetMap contributors, ODbL 1.0 (buildings, roads, points of interest)",
            "Vonng/adcode, CC BY 4.0 (codes, names and community points; GCJ-02 converted)",
            "tsinghua-fib-lab/mosstool beijing-shp (street polygons, c. 2014)",
        ],
    }, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(counts, ensure_ascii=False))
    hh = [hh_by_grid.get(g["code"], 0) for g in grids if g["kind"] == "basic" and hh_by_grid.get(g["code"], 0)]
    if hh:
        print("households per building-cut basic grid: min", min(hh), "median",
              sorted(hh)[len(hh) // 2], "max", max(hh), "n", len(hh))


if __name__ == "__main__":
    main()
