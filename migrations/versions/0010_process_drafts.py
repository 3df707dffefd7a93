"""process drafts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:36:50

A designer's diagram under edit in the browser: its XML, who edits it now, and whether it waits for
a supervisor's approval; nothing in a draft is live until it is deployed as a version.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('process_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('forms', JSON, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('based_on_id', sa.Integer(), nullable=True),
    sa.Column('deployed_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('editor_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('editing', 'awaiting_approval', 'deployed', 'discarded')", name=op.f('ck_process_draft_status')),
    sa.ForeignKeyConstraint(['based_on_id'], ['process_definition.id'], name=op.f('fk_process_draft_based_on_id_process_definition')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_process_draft_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['deployed_id'], ['process_definition.id'], name=op.f('fk_process_draft_deployed_id_process_definition')),
    sa.ForeignKeyConstraint(['editor_id'], ['user_account.id'], name=op.f('fk_process_draft_editor_id_user_account')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], name=op.f('fk_process_draft_submitted_by_id_user_account')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_process_draft_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_draft'))
    )
    with op.batch_alter_table('process_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_draft_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('process_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_draft_status'))

    op.drop_table('process_draft')
