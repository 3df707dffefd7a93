"""path steps

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00

Each sequence flow an instance goes along, appended at each step: the case diagram draws the path
taken, and counts per flow tell which paths of the process are used.
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'path_step',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('process_key', sa.String(length=120), nullable=False),
        sa.Column('source_id', sa.String(length=120), nullable=False),
        sa.Column('target_id', sa.String(length=120), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['support_case.id'], name=op.f('fk_path_step_case_id_support_case')),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_path_step_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_path_step')),
    )
    with op.batch_alter_table('path_step', schema=None) as batch_op:
        batch_op.create_index('ix_path_step_flow', ['process_key', 'source_id', 'target_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_path_step_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_path_step_instance_id'), ['instance_id'], unique=False)


def downgrade():
    with op.batch_alter_table('path_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_path_step_instance_id'))
        batch_op.drop_index(batch_op.f('ix_path_step_case_id'))
        batch_op.drop_index('ix_path_step_flow')
    op.drop_table('path_step')
