"""Process designers' drafts: a diagram being edited in the browser, not live until deployed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONDoc, UTCDateTime, one_of, utcnow
from app.models.users import User
from app.models.workflow import ProcessDefinition

# editing → (deployed | awaiting_approval → deployed | editing) ; discarded at any point before.
DRAFT_STATUSES = ("editing", "awaiting_approval", "deployed", "discarded")


class ProcessDraft(db.Model):
    """One diagram file under edit: started from a deployed version or a new file."""

    __tablename__ = "process_draft"
    __table_args__ = (one_of("status", DRAFT_STATUSES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # Forms changed in this draft (file name → JSON Schema); deploy reads these before forms/.
    forms: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="editing", index=True)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    deployed_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who has the draft open in the modeler now (refreshed while the page is open).
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    editor_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    based_on: Mapped[ProcessDefinition | None] = relationship(foreign_keys=[based_on_id])
    deployed: Mapped[ProcessDefinition | None] = relationship(foreign_keys=[deployed_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User] = relationship(foreign_keys=[updated_by_id])
    editor: Mapped[User | None] = relationship(foreign_keys=[editor_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])

    __mapper_args__ = {"version_id_col": lock_version}
