"""case review columns: the latest plan's review date and the latest submission on the case;
indexes of the instances in error or held (just those) and of the case status

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00

Supervisors' stalled list finds plans past their review date with nothing recorded since. Both
facts are kept on the case (at each plan version and each submission), so that the list reads one
index instead of grouping every plan and comparing it with every submission; filled here from the
existing plans and submissions.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_process_instance_held', table_name='process_instance')
    op.create_index(
        'ix_process_instance_held', 'process_instance', ['held_at'], unique=False,
        postgresql_where=sa.text('held_at IS NOT NULL'), sqlite_where=sa.text('held_at IS NOT NULL'),
    )
    op.create_index(
        'ix_process_instance_failed', 'process_instance', ['last_progress_at'], unique=False,
        postgresql_where=sa.text('error IS NOT NULL'), sqlite_where=sa.text('error IS NOT NULL'),
    )
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('last_recorded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_support_case_review_due_on'), ['review_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_case_status'), ['status'], unique=False)
    op.execute(
        "UPDATE support_case SET review_due_on = ("
        " SELECT p.review_date FROM support_plan p WHERE p.case_id = support_case.id"
        " ORDER BY p.version DESC LIMIT 1)"
    )
    op.execute(
        "UPDATE support_case SET last_recorded_at = ("
        " SELECT max(f.submitted_at) FROM form_submission f WHERE f.case_id = support_case.id)"
    )


def downgrade():
    op.drop_index('ix_process_instance_held', table_name='process_instance')
    op.create_index('ix_process_instance_held', 'process_instance', ['held_at'], unique=False)
    op.drop_index('ix_process_instance_failed', table_name='process_instance')
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_case_status'))
        batch_op.drop_index(batch_op.f('ix_support_case_review_due_on'))
        batch_op.drop_column('last_recorded_at')
        batch_op.drop_column('review_due_on')
