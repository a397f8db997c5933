"""Homes and service centres for tests of circles, coverage, households and lists."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.orm import Session


def add_centre(
    client: TestClient, headers: dict[str, str], xy: tuple[float, float], code: str = "C1"
) -> Response:
    """POST a party–mass service centre at a lon/lat point."""
    return client.post(
        "/api/v1/service-centers",
        headers=headers,
        json={
            "code": code,
            "kind": "party_mass_center",
            "name": "党群服务中心",
            "x": xy[0],
            "y": xy[1],
        },
    )


def add_building(
    db: Session, code: str, grid: str, xy: tuple[float, float], households: int
) -> int:
    """A small square building at a lon/lat point in ``grid``, with that many households."""
    lon, lat = xy
    d = 0.0001
    building_id = int(
        db.execute(
            text(
                "INSERT INTO building (code, address, grid_code, community_code, households, geom) "
                "VALUES (:c, :a, :g, :cc, :h, ST_MakeEnvelope(:w, :s, :e, :n, 4326)) RETURNING id"
            ),
            {
                "c": code,
                "a": f"测试路{code}号",
                "g": grid,
                "cc": grid[:12],
                "h": households,
                "w": lon - d,
                "s": lat - d,
                "e": lon + d,
                "n": lat + d,
            },
        ).scalar_one()
    )
    for i in range(households):
        db.execute(
            text(
                "INSERT INTO household (building_id, unit, room, contact_name, contact_phone) "
                "VALUES (:b, '1', :r, '赵小明', '13700001111')"
            ),
            {"b": building_id, "r": f"{101 + i}"},
        )
    return building_id
