"""A write is committed before its answer is sent: a commit that fails is the answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridmap.auth import create_token
from gridmap.main import create_app
from gridmap.settings import Settings


@pytest.fixture
def refusing_commit(engine: Engine) -> Iterator[str]:
    """An admin token, and a deferred check that fails every commit adding an incident."""
    with Session(engine) as session, session.begin():
        secret, _ = create_token(session, name="提交测试", role="admin", region=None)
        session.execute(
            text(
                "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
            )
        )
        session.execute(
            text(
                "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON incident "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()"
            )
        )
    try:
        yield secret
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_at_commit ON incident"))
            conn.execute(text("DROP FUNCTION refuse_at_commit()"))
            conn.execute(text("DELETE FROM api_token WHERE name = '提交测试'"))
            conn.execute(text("DELETE FROM audit_log WHERE actor LIKE '提交测试%'"))


def test_a_failed_commit_is_not_answered_as_a_success(
    settings: Settings, engine: Engine, refusing_commit: str
) -> None:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(
            "/api/v1/incidents",
            headers={"Authorization": f"Bearer {refusing_commit}"},
            json={"x": 116.342, "y": 40.005, "category": "市容环境/暴露垃圾"},
        )
    assert r.status_code >= 500, r.text
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident")).scalar_one() == 0
