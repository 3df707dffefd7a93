"""statuses and roles checked by the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:40:00

The database refuses a status, role or kind the application does not know, whatever writes it
(a bug, a manual edit, another program on the same database).
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ROLES = (
    'window_worker', 'coordinator', 'outreach_worker', 'participation_worker',
    'community_coordinator', 'council_member', 'supervisor', 'decision_officer',
    'statistician', 'admin', 'process_designer', 'auditor',
)
CHECKS = [
    ('support_case', 'status', ('open', 'interrupted', 'closed')),
    ('user_account', 'role', ROLES),
    ('referral', 'status', ('sent', 'accepted', 'declined', 'done')),
    ('process_instance', 'status', ('running', 'waiting', 'completed')),
    ('work_item', 'status', ('open', 'completed', 'cancelled')),
    ('waiting_event', 'kind', ('timer', 'message')),
]


def upgrade():
    for table, column, values in CHECKS:
        allowed = ", ".join(f"'{v}'" for v in values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(column, f"{column} IN ({allowed})")


def downgrade():
    for table, column, _ in reversed(CHECKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
