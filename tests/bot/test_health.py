"""GET /healthz answers for the app, its database and its queue, and says which part is down."""

from __future__ import annotations

from pathlib import Path

from huey import SqliteHuey

from bot.services import Services
from kotha import create_app
from storage.db import Database


def test_healthy_inline(services: Services) -> None:
    response = create_app(services=services).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": services.database.dialect,
        "queue": "inline",
    }


def test_healthy_with_a_queue_counts_what_waits(services: Services, tmp_path: Path) -> None:
    services.huey = SqliteHuey("kotha-health", filename=str(tmp_path / "q.db"), results=False)
    response = create_app(services=services).test_client().get("/healthz")
    assert response.status_code == 200 and response.json["queue_pending"] == 0


def test_a_database_that_does_not_answer_is_named(services: Services, tmp_path: Path) -> None:
    services.database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = create_app(services=services).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable" and response.json["failing"] == "database"
