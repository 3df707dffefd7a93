"""the cases whose supervisors' rows are to be rewritten, taken by the worker and by each view

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 08:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'read_model_pending',
        sa.Column(
            'id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
            nullable=False,
        ),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('noted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_read_model_pending')),
    )


def downgrade():
    op.drop_table('read_model_pending')
