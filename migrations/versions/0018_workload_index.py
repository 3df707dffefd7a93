"""the supervisors' workload reads open work per queue and worker from one index

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 18:20:00
"""
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.create_index(
            'ix_work_item_workload', ['status', 'queue', 'assignee_id', 'due_at', 'created_at'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_workload')
