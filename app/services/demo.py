"""The clearly marked demo data set that ``make run`` loads: agencies, queues, one user per role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Group, User
from app.services import users

DEMO_PASSWORD = "Demo-Kasane-2026!"

AGENCIES = [
    ("elderly-center", "【デモ】中央地域包括支援センター", "elderly"),
    ("disability-center", "【デモ】障害者相談支援センター", "disability"),
    ("child-center", "【デモ】こども家庭センター", "child"),
    ("poverty-center", "【デモ】くらし自立相談支援窓口", "poverty"),
    ("welfare-division", "【デモ】市 福祉総務課（多機関協働）", "other"),
]

# Group names match the lane names used in processes/, so lanes resolve to these queues.
GROUPS = [
    ("coordination", "多機関協働"),
    ("outreach", "アウトリーチ"),
    ("participation", "参加支援"),
    ("municipality", "市町村"),
    ("support_council", "支援会議"),
    ("supervisors", "スーパーバイザー"),
]


@dataclass
class DemoUser:
    username: str
    display_name: str
    role: str
    agency: str | None
    groups: tuple[str, ...] = ()


DEMO_USERS = [
    DemoUser("demo-elderly", "【デモ】介護 窓口相談員", "window_worker", "elderly-center"),
    DemoUser("demo-disability", "【デモ】障害 窓口相談員", "window_worker", "disability-center"),
    DemoUser("demo-child", "【デモ】子ども 窓口相談員", "window_worker", "child-center"),
    DemoUser("demo-poverty", "【デモ】困窮 窓口相談員", "window_worker", "poverty-center"),
    DemoUser(
        "demo-coordinator",
        "【デモ】相談支援包括化推進員",
        "coordinator",
        "welfare-division",
        ("coordination",),
    ),
    DemoUser(
        "demo-outreach",
        "【デモ】アウトリーチ支援員",
        "outreach_worker",
        "welfare-division",
        ("outreach",),
    ),
    DemoUser(
        "demo-participation",
        "【デモ】参加支援員",
        "participation_worker",
        "welfare-division",
        ("participation",),
    ),
    DemoUser(
        "demo-community",
        "【デモ】地域づくりコーディネーター",
        "community_coordinator",
        "welfare-division",
    ),
    DemoUser(
        "demo-council", "【デモ】支援会議構成員", "council_member", None, ("support_council",)
    ),
    DemoUser(
        "demo-supervisor",
        "【デモ】福祉総務課 係長",
        "supervisor",
        "welfare-division",
        ("supervisors", "coordination", "support_council"),
    ),
    DemoUser(
        "demo-decision",
        "【デモ】支援決定担当",
        "decision_officer",
        "welfare-division",
        ("municipality",),
    ),
    DemoUser("demo-statistician", "【デモ】統計担当", "statistician", None),
    DemoUser("demo-admin", "【デモ】システム管理者", "admin", None),
    DemoUser("demo-designer", "【デモ】プロセス設計者", "process_designer", None),
    DemoUser("demo-auditor", "【デモ】監査担当", "auditor", None),
]


def ensure_reference_data() -> None:
    """Agencies and groups the processes' lanes need; idempotent."""
    existing_agencies = set(db.session.scalars(select(Agency.code)))
    for code, name, kind in AGENCIES:
        if code not in existing_agencies:
            db.session.add(Agency(code=code, name=name, kind=kind))
    existing_groups = set(db.session.scalars(select(Group.key)))
    for key, name in GROUPS:
        if key not in existing_groups:
            db.session.add(Group(key=key, name=name))
    db.session.flush()


def load_demo_users() -> list[DemoUser]:
    """Create the demo users that do not exist yet; returns every demo user."""
    ensure_reference_data()
    agencies = {a.code: a.id for a in db.session.scalars(select(Agency))}
    existing = set(db.session.scalars(select(User.username)))
    shared_hash = users.hash_password(DEMO_PASSWORD)
    for demo in DEMO_USERS:
        if demo.username in existing:
            continue
        users.create_user(
            demo.username,
            demo.display_name,
            DEMO_PASSWORD,
            demo.role,
            agency_id=agencies.get(demo.agency) if demo.agency else None,
            groups=list(demo.groups),
            is_demo=True,
            password_hash=shared_hash,
        )
    db.session.commit()
    return DEMO_USERS
