"""monthly flow tallies: a year of throughput is a dozen rows a flow

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 19:10:00

Per supervisor, process, month (its first day, in Japan) and sequence flow: how many times the
cases in their view took it, kept beside the daily tallies by the timer worker. Filled here from
the daily tallies already kept.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'flow_tally_month',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=120), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('source_id', sa.String(length=120), nullable=False),
        sa.Column('target_id', sa.String(length=120), nullable=False),
        sa.Column('taken', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user_account.id'], name=op.f('fk_flow_tally_month_user_id_user_account')
        ),
        sa.PrimaryKeyConstraint(
            'user_id', 'process_key', 'month', 'source_id', 'target_id',
            name=op.f('pk_flow_tally_month'),
        ),
    )
    if op.get_bind().dialect.name == 'postgresql':
        month = "CAST(date_trunc('month', day) AS DATE)"
    else:
        month = "date(day, 'start of month')"
    op.execute(
        'INSERT INTO flow_tally_month (user_id, process_key, month, source_id, target_id, taken) '
        f'SELECT user_id, process_key, {month}, source_id, target_id, sum(taken) FROM flow_tally '
        f'GROUP BY user_id, process_key, {month}, source_id, target_id'
    )


def downgrade():
    op.drop_table('flow_tally_month')
