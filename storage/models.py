"""The relational schema: every table of the domain (DESIGN §2) as SQLAlchemy 2 declarative models."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite stores them naive; we put the zone back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UtcDateTime}  # noqa: RUF012 - SQLAlchemy reads it


class Session(Base):
    """届/次: one sitting of a congress (人大) or CPPCC committee (政协) in a region."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("region", "body", "term", "sitting", name="uq_sessions_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(8))  # 人大 | 政协
    term: Mapped[int] = mapped_column(Integer)
    sitting: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[date | None] = mapped_column(Date)


class Proposal(Base):
    """One suggestion, bill or proposal within a session. Overdue is derived, never stored."""

    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("session_id", "number", name="uq_proposals_session_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32))  # as printed, leading zeros kept
    number_key: Mapped[str] = mapped_column(String(32), index=True)  # leading zeros stripped, for look-ups
    kind: Mapped[str] = mapped_column(String(16), default="代表建议")
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="draft")
    key_supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    session: Mapped[Session] = relationship(lazy="raise")
    deputies: Mapped[list[ProposalDeputy]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalDeputy.position", lazy="raise"
    )
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Assignment.id", lazy="raise"
    )


class Deputy(Base):
    """A deputy (人大代表) or CPPCC member (政协委员), by name."""

    __tablename__ = "deputies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class ProposalDeputy(Base):
    """领衔 (lead) or 联名/附议 (co-signer) deputy of an item."""

    __tablename__ = "proposal_deputies"
    __table_args__ = (UniqueConstraint("proposal_id", "deputy_id", name="uq_proposal_deputies_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | co_signer
    position: Mapped[int] = mapped_column(Integer, default=0)

    proposal: Mapped[Proposal] = relationship(back_populates="deputies", lazy="raise")
    deputy: Mapped[Deputy] = relationship(lazy="raise")


class Unit(Base):
    """A handling unit (承办单位)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)


class Assignment(Base):
    """主办/会办/分办: a unit's share of an item, with its clock (received_on → due_on)."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("proposal_id", "unit_id", "role", name="uq_assignments_triple"),
        Index("ix_assignments_active_due", "active", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # lead | co | split
    received_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    original_due_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    proposal: Mapped[Proposal] = relationship(back_populates="assignments", lazy="raise")
    unit: Mapped[Unit] = relationship(lazy="raise")


class Reply(Base):
    """答复 or 会办意见: a formal letter from a unit, with its parsed fields and the original file."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    letter_type: Mapped[str] = mapped_column(String(16), default="reply")  # reply | co-handling
    result_text: Mapped[str | None] = mapped_column(String(64))
    result_class: Mapped[str | None] = mapped_column(String(1))
    signer: Mapped[str | None] = mapped_column(String(64))
    replied_on: Mapped[date | None] = mapped_column(Date)
    public: Mapped[bool | None] = mapped_column(Boolean)
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(64))
    contact_address: Mapped[str | None] = mapped_column(String(256))
    contact_postcode: Mapped[str | None] = mapped_column(String(16))
    doc_number: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str | None] = mapped_column(String(256))
    file_data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    unit: Mapped[Unit | None] = relationship(lazy="raise")


class Feedback(Base):
    """满意 / 基本满意 / 不满意: a deputy's rating of a reply."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"), index=True)
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id", ondelete="SET NULL"))
    rating: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Event(Base):
    """One lifecycle transition or notable change: the timeline and the source of notifications."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_proposal_at", "proposal_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    before_state: Mapped[str | None] = mapped_column(String(16))
    after_state: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Account(Base):
    """A Telegram user, their role binding and their preferences."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(8), default="public")  # public | deputy | unit | admin
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    language: Mapped[str | None] = mapped_column(String(8))
    digest_mode: Mapped[str] = mapped_column(String(8), default="instant")  # instant | daily | weekly
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Subscription(Base):
    """A follow: an item, a unit, a keyword or a whole session."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("account_id", "target_kind", "target_key", name="uq_subscriptions_target"),
        Index("ix_subscriptions_target", "target_kind", "target_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(8))  # item | unit | keyword | session
    target_key: Mapped[str] = mapped_column(String(128))  # id or keyword
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """A push waiting to be delivered; committed with the state change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|claimed|sent|dead|merged|cancelled
    due_at: Mapped[datetime]
    # daily | weekly: held for the recipient's digest and merged into one message; null: sent on its own
    digest: Mapped[str | None] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class CalendarOverride(Base):
    """An admin's correction of the official calendar: a day declared working or rest."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(128), default="")


class StatusCard(Base):
    """A denormalized, render-ready status card per item: the status look-up is one indexed read."""

    __tablename__ = "status_cards"
    __table_args__ = (Index("ix_status_cards_lookup", "number_key", "term", "sitting"),)

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    number_key: Mapped[str] = mapped_column(String(32))
    term: Mapped[int] = mapped_column(Integer)
    sitting: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # JSON text, read as-is on the hot path


class BindCode(Base):
    """A one-time binding link (`/start bind_<code>`) that makes a Telegram account a deputy or unit staff."""

    __tablename__ = "bind_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the code, never the code
    role: Mapped[str] = mapped_column(String(8))  # deputy | unit
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(BigInteger)


class AdminGrant(Base):
    """An admin beyond PROPOSAL_BOT_ADMINS, granted in the chat (`/grant`); deleting the row revokes it."""

    __tablename__ = "admin_grants"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    granted_by: Mapped[int] = mapped_column(BigInteger)
    granted_at: Mapped[datetime]


class BindAttempt(Base):
    """A wrong `/start bind_<code>`: the throttle counts these, so it holds across restarts and instances."""

    __tablename__ = "bind_attempts"
    __table_args__ = (Index("ix_bind_attempts_telegram_id_at", "telegram_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]


class AuditEntry(Base):
    """One admin action: who, when, what, and the old and new values. Ordinary operations never delete these rows.

    ``proposal_id`` is kept loose (no cascade): deleting an item keeps its audit trail, with ``subject`` naming it.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_proposal_at", "proposal_id", "at"), Index("ix_audit_log_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # the Telegram user id; None for the CLI
    actor_name: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(16))  # import | reply | edit | extend | assign | withdraw | bind | …
    proposal_id: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(256), default="")  # what was acted on, as people read it
    old: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    new: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
