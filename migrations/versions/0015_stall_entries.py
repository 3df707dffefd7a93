"""stall entries: the supervisors' stalled list as a read model kept at each step

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 15:00:00

One row per possible stall of a case (overdue step, unclaimed work, a long message wait, no
activity, a late plan review, an engine error, a hold) and per scope key of its case, with the
moment it becomes late; the list reads the keys a supervisor oversees and ``stalled_at <= now`` on
one index. Filled here from the existing rows.
"""
from alembic import op
import sqlalchemy as sa



revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stall_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope_key', sa.String(length=90), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('stalled_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('fresh_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('place', sa.String(length=255), nullable=True),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('queue', sa.String(length=80), nullable=True),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['support_case.id'], name=op.f('fk_stall_entry_case_id_support_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stall_entry')),
    )
    with op.batch_alter_table('stall_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stall_entry_case_id'), ['case_id'], unique=False)
        batch_op.create_index(
            'ix_stall_entry_key',
            ['scope_key', 'stalled_at', 'reason', 'source_id', 'case_id', 'item_id', 'queue',
             'assignee_id', 'fresh_at', 'id'],
            unique=False,
        )

    from app.services.supervision import stalls

    stalls.rebuild(op.get_bind())


def downgrade():
    with op.batch_alter_table('stall_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_stall_entry_key')
        batch_op.drop_index(batch_op.f('ix_stall_entry_case_id'))
    op.drop_table('stall_entry')
