"""indexes for the access query

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:40:00

The access query asks which cases an agency holds (intake window or primary agency) and which were
referred to it; these indexes let it answer with a lookup instead of a scan. The open-work index
gains council_material, id and case_id, so counting what a user may open, and finding the ids of a
page of it, read the index alone.
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_queue_open')
        batch_op.create_index(
            'ix_work_item_queue_open',
            ['status', 'queue', 'council_material', 'due_at', 'id', 'case_id'],
            unique=False,
        )
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_case_intake_agency_id'), ['intake_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_case_primary_agency_id'), ['primary_agency_id'], unique=False)
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_to_agency_id'), ['to_agency_id'], unique=False)


def downgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_queue_open')
        batch_op.create_index('ix_work_item_queue_open', ['status', 'queue', 'due_at'], unique=False)
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_to_agency_id'))
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_case_primary_agency_id'))
        batch_op.drop_index(batch_op.f('ix_support_case_intake_agency_id'))
