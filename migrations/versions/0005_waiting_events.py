"""waiting events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:10:00

The catch events each instance waits at (timers with their due time, messages), rebuilt at each
step: the case page offers "start now" from it, and supervisors' views read it.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'waiting_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('element_id', sa.String(length=120), nullable=False),
        sa.Column('process_key', sa.String(length=120), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('message_name', sa.String(length=120), nullable=True),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('start_now', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['support_case.id'], name=op.f('fk_waiting_event_case_id_support_case')),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_waiting_event_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_event')),
        sa.UniqueConstraint('instance_id', 'element_id', name=op.f('uq_waiting_event_instance_id')),
    )
    with op.batch_alter_table('waiting_event', schema=None) as batch_op:
        batch_op.create_index('ix_waiting_event_due', ['kind', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_event_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_event_instance_id'), ['instance_id'], unique=False)


def downgrade():
    with op.batch_alter_table('waiting_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waiting_event_instance_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_event_case_id'))
        batch_op.drop_index('ix_waiting_event_due')
    op.drop_table('waiting_event')
