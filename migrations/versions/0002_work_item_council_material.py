"""work items of 支援会議 material

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:40:00

A work item whose task is declared ``councilMaterial`` in its diagram carries 106条の6 material:
it is workable only by the meeting's chair and never opens the ordinary case page.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('council_material', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_column('council_material')
