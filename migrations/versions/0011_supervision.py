"""supervision

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:56:31

What each supervisor oversees (agencies and work queues, edited by the administrator) and the
municipality's own time limit per process step, which the stalled-case view judges lateness by.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('step_limit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.CheckConstraint('days >= 1 AND days <= 365', name=op.f('ck_step_limit_days')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_limit')),
    sa.UniqueConstraint('process_key', 'element_id', name=op.f('uq_step_limit_process_key'))
    )
    op.create_table('supervisor_scope',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('queue', sa.String(length=80), nullable=True),
    sa.CheckConstraint('(agency_id IS NULL AND queue IS NOT NULL) OR (agency_id IS NOT NULL AND queue IS NULL)', name=op.f('ck_supervisor_scope_one_target')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_supervisor_scope_agency_id_agency')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_supervisor_scope_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervisor_scope')),
    sa.UniqueConstraint('user_id', 'agency_id', 'queue', name=op.f('uq_supervisor_scope_user_id'))
    )
    with op.batch_alter_table('supervisor_scope', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisor_scope_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('supervisor_scope', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervisor_scope_user_id'))

    op.drop_table('supervisor_scope')
    op.drop_table('step_limit')
