"""call activities stored with each process version

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:05:00

Which call activity calls which process is computed at deploy and kept with the version, so that
pages need not parse the diagram (or cache parses without bound). Existing versions are filled in.
"""
from alembic import op
import sqlalchemy as sa
from lxml import etree
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _calls(xml, key):
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return {}
    found = {}
    for process in root.iter(f"{{{BPMN}}}process"):
        if process.get("id") == key:
            for node in process.iter(f"{{{BPMN}}}callActivity"):
                if node.get("calledElement") and node.get("id"):
                    found.setdefault(node.get("calledElement"), node.get("id"))
    return found


def upgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('call_activities', JSON, nullable=True))
    table = sa.table(
        'process_definition',
        sa.column('id', sa.Integer),
        sa.column('key', sa.String),
        sa.column('bpmn_xml', sa.Text),
        sa.column('call_activities', JSON),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.id, table.c.key, table.c.bpmn_xml)).all()
    for row_id, key, xml in rows:
        connection.execute(
            table.update().where(table.c.id == row_id).values(call_activities=_calls(xml, key))
        )


def downgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_column('call_activities')
