"""consent purposes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:50:00

The purposes a person consented to (つなぎ, 多機関協働, 重層的支援会議) as codes the sharing steps
are checked against; the free-text purpose stays as the person's own words.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'purposes',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=False,
                server_default='[]',
            )
        )


def downgrade():
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_column('purposes')
