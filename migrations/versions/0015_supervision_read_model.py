"""supervision read model: scope keys, stall entries and wait entries kept at each step

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 15:00:00

The scope keys of each case (the agencies on it, the queues of its open work); one row per
possible stall of a case (overdue step, unclaimed work, a long message wait, no activity, a late
plan review, an engine error, a hold) and per scope key, with the moment it becomes late; one row
per open work item and waiting event and per scope key. The supervisors' views read the keys they
oversee on one index each (filled from the existing rows by revision 0017). Per supervisor, daily
tallies of the flows cases took (filled by the timer worker).
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

    op.create_table(
        'wait_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope_key', sa.String(length=90), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=120), nullable=True),
        sa.Column('element_id', sa.String(length=120), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('queue', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['support_case.id'], name=op.f('fk_wait_entry_case_id_support_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wait_entry')),
    )
    with op.batch_alter_table('wait_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wait_entry_case_id'), ['case_id'], unique=False)
        batch_op.create_index(
            'ix_wait_entry_key',
            ['scope_key', 'process_key', 'element_id', 'since', 'due_at', 'kind', 'source_id',
             'case_id', 'item_id', 'queue'],
            unique=False,
        )
    op.create_table(
        'case_key',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('scope_key', sa.String(length=90), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['support_case.id'], name=op.f('fk_case_key_case_id_support_case')),
        sa.PrimaryKeyConstraint('case_id', 'scope_key', name=op.f('pk_case_key')),
    )
    with op.batch_alter_table('case_key', schema=None) as batch_op:
        batch_op.create_index('ix_case_key_key', ['scope_key', 'case_id'], unique=False)

    op.create_table(
        'flow_tally',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=120), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('source_id', sa.String(length=120), nullable=False),
        sa.Column('target_id', sa.String(length=120), nullable=False),
        sa.Column('taken', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_flow_tally_user_id_user_account')),
        sa.PrimaryKeyConstraint('user_id', 'process_key', 'day', 'source_id', 'target_id', name=op.f('pk_flow_tally')),
    )
    op.create_table(
        'flow_tally_mark',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('last_step_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_flow_tally_mark_user_id_user_account')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_flow_tally_mark')),
    )

    # Filled by revision 0017, which rewrites the read model in its present shape (the rebuild
    # is the application's code, which needs that revision's tables).


def downgrade():
    op.drop_table('flow_tally_mark')
    op.drop_table('flow_tally')
    with op.batch_alter_table('case_key', schema=None) as batch_op:
        batch_op.drop_index('ix_case_key_key')
    op.drop_table('case_key')
    with op.batch_alter_table('wait_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_wait_entry_key')
        batch_op.drop_index(batch_op.f('ix_wait_entry_case_id'))
    op.drop_table('wait_entry')
    with op.batch_alter_table('stall_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_stall_entry_key')
        batch_op.drop_index(batch_op.f('ix_stall_entry_case_id'))
    op.drop_table('stall_entry')
