"""Notifications: what concerns a user, their choice of e-mail, and the log of the e-mails sent."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.documents import Document
    from webforms.models.mesures import Mesure
    from webforms.models.people import User

# How a user wants to be told by e-mail (webforms.notifications): each notification at once, a
# daily digest, or never (the notification centre shows them all the same).
FREQUENCES = {
    "immediat": "Un courriel à chaque notification",
    "quotidien": "Un résumé par jour",
    "aucun": "Aucun courriel (seulement dans l'application)",
}


class Notification(Base):
    """Something that happened to a document, told to one user (webforms.notifications).

    ``message`` is a French line naming the kind, the reference and what happened, never a
    household's data: the same words go into the e-mail (CNIL).
    """

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_unread", "user_id", "read_at"),
        CheckConstraint("(document_id IS NULL) <> (mesure_id IS NULL)", name="ck_notification_about_one_thing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # What it is about: a document, or a measure (a reminder of a bilan not yet started). Its
    # removal takes its notifications with it.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True, nullable=True)
    mesure_id: Mapped[int | None] = mapped_column(ForeignKey("mesure.id", ondelete="CASCADE"), index=True, nullable=True)
    evenement: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(300))
    # What the line leaves out, told below it in the centre and in the e-mail's body, never in its
    # subject (a call's reminder: what is still missing); no household data either (migration 0046).
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When an e-mail told it (at once or in a digest): a digest never repeats it.
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    document: Mapped[Document | None] = relationship()
    mesure: Mapped[Mesure | None] = relationship()
    user: Mapped[User] = relationship()


class NotificationPreference(Base):
    """A user's choice of e-mail; without a row, the default (``immediat``)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    frequence: Mapped[str] = mapped_column(String(20), default="immediat")


class Courriel(Base):
    """One e-mail sent or tried: to whom, when, for what, and how it went; never its content."""

    __tablename__ = "courriel"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True, index=True)
    adresse: Mapped[str] = mapped_column(String(254))
    # "immediat:<evenement>" or "resume" (a daily digest).
    nature: Mapped[str] = mapped_column(String(60))
    notifications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "envoye", "echec" (refused by the relay), "non_remis" (accepted, then bounced: a DSN read back).
    statut: Mapped[str] = mapped_column(String(20))
    erreur: Mapped[str | None] = mapped_column(Text, nullable=True)
    travail_id: Mapped[int | None] = mapped_column(ForeignKey("travail.id", ondelete="SET NULL"), nullable=True)
    # The e-mail's Message-ID header: a delivery status notification names it (RFC 3464), not its content.
    message_id: Mapped[str | None] = mapped_column(String(250), nullable=True, index=True)


class Rappel(Base):
    """A reminder's occurrence, recorded once (webforms.notifications.reminders).

    ``cle`` names the occurrence (the rule, the measure, the bilan, its due date): a second
    worker computing the same reminder finds it taken and tells nobody again.
    """

    __tablename__ = "rappel"

    id: Mapped[int] = mapped_column(primary_key=True)
    cle: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
