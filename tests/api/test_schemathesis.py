"""Schemathesis over the whole OpenAPI: no 5xx, and every answer is one the document describes.

Every operation gets ``GRIDMAP_SCHEMATHESIS_EXAMPLES`` generated requests (25 unless set; ``make
schemathesis`` runs 50), valid and invalid ones, sent as an anonymous caller, as an admin and as a
community office, against the real app on a real PostGIS holding a small, committed data set
(a street, a community, two grids with staff, buildings and households, a service centre, an
incident, a need and a resource), so some requests hit real rows. Each request runs in a
transaction that is rolled back after it, so no case sees another's writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, WEST_GRID, two_grids
from tests.utils.homes import add_building

from gridmap import migrate
from gridmap.auth import create_token
from gridmap.database import make_engine
from gridmap.dependencies import get_session
from gridmap.main import create_app
from gridmap.settings import Settings

EXAMPLES = int(os.environ.get("GRIDMAP_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
DB_NAME = "gridmap_test_contract"
CALLERS = ("anonymous", "admin", "office")
# Conformance, not speed: a request is given two minutes before it counts as hung. Schemathesis's
# own 10 s read timeout turned a moment of a busy test machine into a failure (speed is measured
# in bench/, never asserted in a test).
REQUEST_TIMEOUT_SECONDS = 120


@dataclass
class Contract:
    """The app under test, its database, and the tokens of its callers."""

    app: FastAPI
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    session: Session | None = None

    @contextmanager
    def case(self) -> Iterator[None]:
        """One request's session, inside a transaction rolled back afterwards."""
        conn = self.engine.connect()
        outer = conn.begin()
        self.session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield
        finally:
            self.session.close()
            self.session = None
            outer.rollback()
            conn.close()


def seed(engine: Engine, settings: Settings) -> dict[str, str]:
    """The small data set, committed; returns the callers' bearer tokens."""
    with Session(engine) as db, db.begin():
        two_grids(db)
        add_building(db, "BW-01", WEST_GRID, (116.342, 40.005), 3)
        admin, _ = create_token(db, name="区网格中心", role="admin", region=None)
        office, _ = create_token(db, name="测试社区办", role="community", region=COMMUNITY)
    tokens = {"admin": admin, "office": office}
    as_admin = {"Authorization": f"Bearer {admin}"}
    # Through the API, so the rows are as the service itself writes them.
    with TestClient(create_app(settings)) as client:
        made = [
            client.post(
                "/api/v1/service-centers",
                headers=as_admin,
                json={
                    "code": "C1",
                    "kind": "party_mass_center",
                    "name": "党群服务中心",
                    "x": 116.343,
                    "y": 40.004,
                },
            ),
            client.post(
                "/api/v1/incidents",
                headers=as_admin,
                json={
                    "x": 116.342,
                    "y": 40.006,
                    "category": "市容环境/暴露垃圾",
                    "description": "路边堆放垃圾",
                },
            ),
        ]
        for kind in ("need", "resource"):
            made.append(
                client.post(
                    "/api/v1/lists",
                    headers=as_admin,
                    json={
                        "list": kind,
                        "category": "助老",
                        "title": f"测试{kind}",
                        "owner_kind": "resident",
                        "x": 116.344,
                        "y": 40.003,
                    },
                )
            )
    for answer in made:
        assert answer.status_code in (200, 201), answer.text
    return tokens


SETTINGS = Settings()
SETTINGS.db.embedded_db = DB_NAME
# The app is made at import, without touching the database (its lifespan runs at the first
# request), so Schemathesis can turn its operations into tests; ``contract`` readies the rest.
APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@pytest.fixture(scope="module")
def contract(fresh_database, server: Settings) -> Iterator[Contract]:  # type: ignore[no-untyped-def]
    url = fresh_database(DB_NAME)
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=2)
    if SETTINGS.db.url is not None:
        SETTINGS.db.url = url  # type: ignore[assignment]
    tokens = seed(engine, SETTINGS)
    contract = Contract(app=APP, engine=engine, tokens=tokens)

    def case_session() -> Iterator[Session]:
        assert contract.session is not None, "a request outside a case"
        yield contract.session

    APP.dependency_overrides[get_session] = case_session
    try:
        yield contract
    finally:
        APP.dependency_overrides.clear()
        engine.dispose()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # A failure is reported as found: shrinking it could take longer than the whole run.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms(case: schemathesis.Case, contract: Contract) -> None:
    # Each generated request is sent by every caller, each in a transaction of its own.
    for caller in CALLERS:
        headers = {}
        if caller != "anonymous":
            headers["Authorization"] = f"Bearer {contract.tokens[caller]}"
        with contract.case():
            try:
                case.call_and_validate(
                    headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT_SECONDS
                )
            except Exception as exc:
                exc.add_note(f"sent as: {caller}")
                raise


def test_no_case_left_a_write_behind(contract: Contract) -> None:
    # Runs after the cases (pytest keeps file order): the committed data set is as seeded.
    with contract.engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("grid", "incident", "list_item", "service_center", "building")
        }
    assert counts == {
        "grid": 2,
        "incident": 1,
        "list_item": 2,
        "service_center": 1,
        "building": 1,
    }
