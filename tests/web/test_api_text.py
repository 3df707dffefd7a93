"""Text the database cannot hold (a NUL byte) is refused with 422 wherever the API reads it."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import users
from tests.harness import Flow


def test_a_nul_byte_is_refused_in_bodies_and_queries(flow: Flow, client: FlaskClient) -> None:
    window = db.session.scalar(select(User).where(User.username == "demo-elderly"))
    headers = {"Authorization": f"Bearer {users.create_token(window)}"}
    db.session.commit()
    body = {"title": "件名", "agency": "elderly-center\x00", "intake": {}}
    refused = client.post("/api/v1/cases", json=body, headers=headers)
    assert refused.status_code == 422 and "agency" in refused.get_json()["error"]["fields"]
    listing = client.get("/api/v1/work-items?q=%00", headers=headers)
    assert listing.status_code == 422 and "q" in listing.get_json()["error"]["fields"]
