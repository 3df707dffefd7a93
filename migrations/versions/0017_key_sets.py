"""key sets: the rows about a case as a whole carry its set of scope keys once

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 19:40:00

Each set of scope keys some case has gets a row (found by the digest of its keys) and its members;
a case gets one more key, ``s:<set id>``, and its stall and wait entries about the case as a whole
carry that key alone instead of one row per key of the case, so a view reads each such row once
(the sets holding one of its keys) without grouping duplicates away. The read model is rewritten
here in that shape.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'key_set',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_key_set')),
        sa.UniqueConstraint('digest', name=op.f('uq_key_set_digest')),
    )
    op.create_table(
        'key_set_member',
        sa.Column('scope_key', sa.String(length=90), nullable=False),
        sa.Column('key_set_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['key_set_id'], ['key_set.id'], name=op.f('fk_key_set_member_key_set_id_key_set')
        ),
        sa.PrimaryKeyConstraint('scope_key', 'key_set_id', name=op.f('pk_key_set_member')),
    )
    from app.services.supervision import readmodel

    readmodel.rebuild(op.get_bind())


def downgrade():
    # The entries go back to one row per key of the case: rewritten by the code of that revision
    # (a downgrade is followed by running it); here the set keys and their rows are removed.
    op.execute("DELETE FROM stall_entry WHERE scope_key >= 's:' AND scope_key < 's;'")
    op.execute("DELETE FROM wait_entry WHERE scope_key >= 's:' AND scope_key < 's;'")
    op.execute("DELETE FROM case_key WHERE scope_key >= 's:' AND scope_key < 's;'")
    op.drop_table('key_set_member')
    op.drop_table('key_set')
