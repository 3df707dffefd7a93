"""supervision: indexes, holds and escalations

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:00:00

The supervisors' views read open work, instance progress and waiting events across every case in
their scope; these indexes let them read the indexes alone. A supervisor may hold a process (no
step, no timer until it is resumed) and hand a case on to another supervisor (an escalation).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.create_index(
            'ix_work_item_case_visibility',
            ['case_id', 'queue', 'status', 'council_material', 'assignee_id', 'completed_by_id'],
            unique=False,
        )
        batch_op.create_index('ix_work_item_completed_by', ['completed_by_id'], unique=False)
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('held_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_process_instance_held_by_id_user_account'), 'user_account', ['held_by_id'], ['id']
        )
        batch_op.create_index('ix_process_instance_progress', ['status', 'last_progress_at'], unique=False)
        batch_op.create_index('ix_process_instance_held', ['held_at'], unique=False)
    with op.batch_alter_table('waiting_event', schema=None) as batch_op:
        batch_op.create_index('ix_waiting_event_since', ['kind', 'since'], unique=False)
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.create_index('ix_form_submission_case_time', ['case_id', 'submitted_at'], unique=False)
    with op.batch_alter_table('path_step', schema=None) as batch_op:
        batch_op.create_index(
            'ix_path_step_period', ['process_key', 'taken_at', 'case_id', 'source_id', 'target_id'], unique=False
        )
    op.create_table('escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=True),
    sa.Column('from_user_id', sa.Integer(), nullable=False),
    sa.Column('to_user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['support_case.id'], name=op.f('fk_escalation_case_id_support_case')),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_item.id'], name=op.f('fk_escalation_work_item_id_work_item')),
    sa.ForeignKeyConstraint(['from_user_id'], ['user_account.id'], name=op.f('fk_escalation_from_user_id_user_account')),
    sa.ForeignKeyConstraint(['to_user_id'], ['user_account.id'], name=op.f('fk_escalation_to_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation'))
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_to_open', ['to_user_id', 'resolved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_case_id'), ['case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_case_id'))
        batch_op.drop_index('ix_escalation_to_open')
    op.drop_table('escalation')
    with op.batch_alter_table('path_step', schema=None) as batch_op:
        batch_op.drop_index('ix_path_step_period')
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_index('ix_form_submission_case_time')
    with op.batch_alter_table('waiting_event', schema=None) as batch_op:
        batch_op.drop_index('ix_waiting_event_since')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instance_held')
        batch_op.drop_index('ix_process_instance_progress')
        batch_op.drop_constraint(batch_op.f('fk_process_instance_held_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('held_by_id')
        batch_op.drop_column('held_at')
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_completed_by')
        batch_op.drop_index('ix_work_item_case_visibility')
