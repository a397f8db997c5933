"""Generate the demo's field work in data/boundaries/: care tags, a month of visits and a week of
patrol tracks walking the demo roads.

    python scripts/demo_field.py [--out data/boundaries]

Reads the files build_demo_data.py wrote (grids, staff, buildings, households, roads) and writes
``care_tags.csv``, ``visits.csv`` and ``patrols.geojson``, updating ``manifest.json``'s counts.
Deterministic: every draw comes from a generator seeded by the item's key. Times are in the demo
week ending on ``DEMO_DAY``; the loader moves them all by one amount so the last patrol ends on
the day of the load (see gridmap.loader).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

import shapely
from shapely.geometry import LineString, shape
from shapely.strtree import STRtree

from gridmap.geo.metric import transformer

SEED = 20261204
METRIC = 32650
LOCAL = timezone(timedelta(hours=8))
# The last day of the demo's field work (a Sunday: the week is Monday 9 to Sunday 15 November).
DEMO_DAY = date(2026, 11, 15)
TAGGED_SHARE = 0.08
# Weights of the tags a tagged household gets first (独居老人 the most common).
TAG_WEIGHTS = {
    "elderly_alone": 40,
    "empty_nest": 14,
    "hardship": 12,
    "disabled": 10,
    "subsistence": 10,
    "left_behind_child": 8,
    "serious_illness": 6,
}
# The intervals gridmap's settings give by default (visit_interval_days, visit_default_days).
INTERVAL = {"elderly_alone": 7}
DEFAULT_INTERVAL = 30
OUTCOMES = (("met", 75), ("not_home", 12), ("follow_up", 8), ("refused", 3), ("moved", 2))
NOTES = {
    "met": ["身体状况良好", "已了解近期生活需求", "提醒冬季用电安全", "协助预约社区体检", ""],
    "not_home": ["家中无人，已留联系卡", "电话联系未接通", ""],
    "follow_up": ["反映暖气不热，需跟进", "需协助申请临时救助", "需联系子女沟通"],
    "refused": ["不愿接受入户", ""],
    "moved": ["已搬离，待核实新住址"],
}
# Grids whose workers patrol in the demo: the basic grids of 学院路 with the most road inside.
PATROL_GRIDS = 6
PATROL_STREET = "110108010"
FIX_EVERY_S = 10
WALKABLE = {
    "service",
    "footway",
    "cycleway",
    "residential",
    "path",
    "living_street",
    "pedestrian",
    "tertiary",
    "secondary",
    "unclassified",
    "steps",
    "platform",
    "tertiary_link",
    "secondary_link",
}


def rng_for(*key: object) -> random.Random:
    """A random generator seeded by a key, so every item's made-up values are reproducible."""
    digest = hashlib.sha256(("|".join(map(str, (SEED, *key)))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def to_metric(geom: Any) -> Any:
    return shapely.transform(
        geom, lambda c: np.column_stack(transformer(4326, METRIC).transform(c[:, 0], c[:, 1]))
    )


def person_key(row: dict[str, str]) -> str:
    """The key the loader gives a person of grid_staff.csv (gridmap.loader.person_key)."""
    return f"{row['name']}|{row.get('phone') or row['grid_code']}"


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in pairs], weights=[w for _, w in pairs])[0]


def read(out: Path) -> dict[str, Any]:
    grids = json.loads((out / "grids.geojson").read_text("utf-8"))["features"]
    buildings = json.loads((out / "buildings.geojson").read_text("utf-8"))["features"]
    roads = json.loads((out / "roads.geojson").read_text("utf-8"))["features"]
    with (out / "households.csv").open(encoding="utf-8", newline="") as fh:
        households = list(csv.DictReader(fh))
    with (out / "grid_staff.csv").open(encoding="utf-8", newline="") as fh:
        staff = list(csv.DictReader(fh))
    return {
        "grids": grids,
        "buildings": buildings,
        "roads": roads,
        "households": households,
        "staff": staff,
    }


def building_grids(grids: list[dict[str, Any]], buildings: list[dict[str, Any]]) -> dict[str, str]:
    """Each building's grid, by its point on surface (as the loader derives it)."""
    polys = [shape(g["geometry"]) for g in grids]
    tree = STRtree(polys)
    out = {}
    for b in buildings:
        p = shape(b["geometry"]).representative_point()
        hits = [i for i in tree.query(p) if polys[i].contains(p)]
        if hits:
            out[b["properties"]["code"]] = grids[
                min(hits, key=lambda i: grids[i]["properties"]["code"])
            ]["properties"]["code"]
    return out


def care_tags(households: list[dict[str, str]]) -> list[dict[str, Any]]:
    rows = []
    pairs = list(TAG_WEIGHTS.items())
    for h in households:
        rng = rng_for("care", h["building_code"], h["unit"], h["room"])
        if rng.random() >= TAGGED_SHARE:
            continue
        tags = [weighted(rng, pairs)]
        if rng.random() < 0.12:
            second = weighted(rng, pairs)
            if second != tags[0]:
                tags.append(second)
        for tag in tags:
            since = DEMO_DAY - timedelta(days=rng.randrange(60, 900))
            rows.append(
                {
                    "building_code": h["building_code"],
                    "unit": h["unit"],
                    "room": h["room"],
                    "tag": tag,
                    "interval_days": 14 if tag != "elderly_alone" and rng.random() < 0.1 else None,
                    "since": since.isoformat(),
                    "note": None,
                }
            )
    return rows


def interval_of(tags: list[dict[str, Any]]) -> int:
    return min(
        int(t["interval_days"]) if t["interval_days"] else INTERVAL.get(t["tag"], DEFAULT_INTERVAL)
        for t in tags
    )


def visits(
    tags: list[dict[str, Any]], grid_of: dict[str, str], workers: dict[str, list[dict[str, str]]]
) -> list[dict[str, Any]]:
    """A month of visits to the tagged households: most kept up with their interval, about one
    in six let slip past it (overdue on the demo's last day)."""
    by_home: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for t in tags:
        by_home[(t["building_code"], t["unit"], t["room"])].append(t)
    end = datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 18, tzinfo=LOCAL)
    start = end - timedelta(days=30)
    rows = []
    for home, home_tags in by_home.items():
        grid = grid_of.get(home[0])
        if grid is None or not workers.get(grid):
            continue
        rng = rng_for("visits", *home)
        every = interval_of(home_tags)
        # days before the last day that the last visit was made
        last_ago = rng.randrange(0, every) if rng.random() >= 0.17 else every + rng.randrange(1, 12)
        day = DEMO_DAY - timedelta(days=last_ago)
        made = []
        while True:
            at = datetime(
                day.year, day.month, day.day, rng.randrange(9, 14), rng.randrange(60), tzinfo=LOCAL
            )
            if at < start:
                break
            made.append(at)
            day -= timedelta(days=max(1, every + rng.randrange(-2, 2)))
        for at in reversed(made):
            outcome = weighted(rng, list(OUTCOMES))
            rows.append(
                {
                    "key": "",
                    "building_code": home[0],
                    "unit": home[1],
                    "room": home[2],
                    "at": at.astimezone(UTC).isoformat(),
                    "outcome": outcome,
                    "note": rng.choice(NOTES[outcome]) or None,
                    "person": person_key(rng.choice(workers[grid])),
                }
            )
    rows.sort(key=lambda r: (r["at"], r["building_code"], r["unit"], r["room"]))
    for n, row in enumerate(rows, start=1):
        row["key"] = f"demo-visit-{n:05d}"
    return rows


def street_graph(lines: list[LineString]) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Vertices (rounded to 0.5 m) and their neighbours along the lines."""
    graph: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for line in lines:
        keys = [(round(x * 2), round(y * 2)) for x, y in line.coords]
        for a, b in zip(keys, keys[1:], strict=False):
            if a != b and b not in graph[a]:
                graph[a].append(b)
                graph[b].append(a)
    return graph


def walk(
    graph: dict[tuple[int, int], list[tuple[int, int]]], rng: random.Random, length_m: float
) -> list[tuple[float, float]]:
    """A walk over the street graph of about length_m, taking the least-walked way at each
    corner, so a worker covers much of the grid without retracing every step."""
    nodes = sorted(graph)
    # start in the largest connected part
    seen: set[tuple[int, int]] = set()
    best: list[tuple[int, int]] = []
    for n in nodes:
        if n in seen:
            continue
        part, stack = [], [n]
        seen.add(n)
        while stack:
            m = stack.pop()
            part.append(m)
            for k in graph[m]:
                if k not in seen:
                    seen.add(k)
                    stack.append(k)
        if len(part) > len(best):
            best = part
    best.sort()
    here = rng.choice(best)
    used: dict[frozenset[tuple[int, int]], int] = defaultdict(int)
    path = [here]
    done = 0.0
    while done < length_m:
        options = graph[here]
        least = min(used[frozenset((here, o))] for o in options)
        nxt = rng.choice([o for o in options if used[frozenset((here, o))] == least])
        used[frozenset((here, nxt))] += 1
        done += math.dist(here, nxt) / 2
        path.append(nxt)
        here = nxt
    return [(x / 2, y / 2) for x, y in path]


def sample(
    path: list[tuple[float, float]], rng: random.Random, speed: float, start: datetime
) -> tuple[list[list[float]], list[int]]:
    """Fixes every FIX_EVERY_S along path at speed (m/s), with a few metres of GPS noise."""
    line = LineString(path)
    step = speed * FIX_EVERY_S
    n = int(line.length // step) + 1
    xy = np.array([line.interpolate(i * step).coords[0] for i in range(n)])
    xy += np.array([[rng.gauss(0, 2.5), rng.gauss(0, 2.5)] for _ in range(n)])
    lon, lat = transformer(METRIC, 4326).transform(xy[:, 0], xy[:, 1])
    t0 = int(start.timestamp())
    coords = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]
    return coords, [t0 + i * FIX_EVERY_S for i in range(n)]


def patrols(
    grids: list[dict[str, Any]],
    roads: list[dict[str, Any]],
    workers: dict[str, list[dict[str, str]]],
) -> list[dict[str, Any]]:
    """A week of patrols: in each of the chosen grids one of its workers walks every day in the
    afternoon, after the day's visits (made in the morning), so the last thing the demo's
    field work did is a patrol: the loader moves that to the day of the load."""
    lines = [
        to_metric(shape(r["geometry"])) for r in roads if r["properties"]["highway"] in WALKABLE
    ]
    tree = STRtree(lines)
    candidates = []
    for g in grids:
        p = g["properties"]
        if (
            p["kind"] != "basic"
            or not p["code"].startswith(PATROL_STREET)
            or not workers.get(p["code"])
        ):
            continue
        poly = to_metric(shape(g["geometry"]))
        inside = [lines[i].intersection(poly) for i in tree.query(poly)]
        parts = [
            seg
            for geom in inside
            for seg in getattr(geom, "geoms", [geom])
            if isinstance(seg, LineString) and seg.length > 1
        ]
        candidates.append((sum(s.length for s in parts), p["code"], parts))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    features = []
    for street_m, code, parts in candidates[:PATROL_GRIDS]:
        graph = street_graph(parts)
        team = workers[code]
        for d in range(7):
            day = DEMO_DAY - timedelta(days=6 - d)
            rng = rng_for("patrol", code, day.isoformat())
            worker = team[d % len(team)]
            begin = datetime(day.year, day.month, day.day, 14, rng.randrange(0, 50), tzinfo=LOCAL)
            # most days the worker walks the grid's streets about once over, some days less
            length = street_m * rng.uniform(0.5, 1.3)
            path = walk(graph, rng, min(length, 6000.0))
            coords, times = sample(path, rng, rng.uniform(1.0, 1.3), begin)
            key = uuid.UUID(
                bytes=hashlib.sha256(f"{SEED}|{code}|{day}".encode()).digest()[:16], version=4
            )
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "key": str(key),
                        "person": person_key(worker),
                        "grid_codes": [code],
                        "started_at": datetime.fromtimestamp(times[0] - 30, UTC).isoformat(),
                        "ended_at": datetime.fromtimestamp(times[-1] + 30, UTC).isoformat(),
                        "times": times,
                    },
                    "geometry": {"type": "LineString", "coordinates": coords},
                }
            )
    return features


def write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})


def build_field(out: Path) -> dict[str, int]:
    """Write care_tags.csv, visits.csv and patrols.geojson into out; answer their counts."""
    data = read(out)
    grid_of = building_grids(data["grids"], data["buildings"])
    workers: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in data["staff"]:
        if row["role"] == "worker":
            workers[row["grid_code"]].append(row)
    tags = care_tags(data["households"])
    made = visits(tags, grid_of, workers)
    tracks = patrols(data["grids"], data["roads"], workers)
    write_csv(
        out / "care_tags.csv",
        tags,
        ["building_code", "unit", "room", "tag", "interval_days", "since", "note"],
    )
    write_csv(
        out / "visits.csv",
        made,
        ["key", "building_code", "unit", "room", "at", "outcome", "note", "person"],
    )
    doc = {"type": "FeatureCollection", "name": "patrols", "features": tracks}
    (out / "patrols.geojson").write_text(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8"
    )
    return {
        "care_tags": len(tags),
        "visits": len(made),
        "patrols": len(tracks),
        "patrol_points": sum(len(f["properties"]["times"]) for f in tracks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "boundaries"
    )
    out = parser.parse_args().out
    counts = build_field(out)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["counts"].update(counts)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
