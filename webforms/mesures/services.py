"""Support measures: create them, record meetings and renewals, compute what is due."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import bilan_annuel_operateur as annual
from schemas import get_kind, registry
from schemas.base.common import objective_counts
from schemas.base.fields import choices_of
from schemas.base.kind import Kind
from schemas.base.records import ClotureSchema, MesureSchema, RencontresSchema, RenouvellementSchema
from webforms.documents.services import ParentRules, Services, create_draft, next_reference
from webforms.errors import DocumentError, ValidationFailed
from webforms.mesures import rules as rules
from webforms.models import DiplomeReferent, Document, Event, Mesure, Rencontre, Renouvellement, User
from webforms.territoires.scope import territory_for_mesure
from webforms.timeutil import paris_date


def load(schema: type[Schema], payload: Mapping[str, Any], message: str) -> dict[str, Any]:
    """Load ``payload`` with ``schema``; refuse it with the schema's messages."""
    try:
        return schema().load(payload)
    except ValidationError as err:
        raise ValidationFailed(message, err.normalized_messages()) from None  # type: ignore[arg-type]


def _renewals(mesure: Mesure) -> list[rules.Renewal]:
    return [rules.Renewal(r.date_decision, r.duree_mois, r.motif) for r in mesure.renouvellements]


def _check(mesure_values: Mapping[str, Any], renewals: list[rules.Renewal]) -> None:
    try:
        rules.check(
            mesure_values["type_mesure"],
            order_date=mesure_values.get("date_bon_commande"),
            first_meeting=mesure_values.get("date_premiere_rencontre"),
            months=mesure_values["duree_mois"],
            renewals=renewals,
        )
    except rules.MesureRuleError as exc:
        raise ValidationFailed(str(exc), {exc.field: [str(exc)]}) from None


def create_mesure(session: Session, svc: Services, *, user: User, payload: Mapping[str, Any]) -> Mesure:
    """Open a measure for the user's organisation, the user being its referent."""
    values = load(MesureSchema, payload, "La mesure ne peut pas être créée : corrigez les erreurs signalées.")
    nature = values.pop("nature_premiere_rencontre", None)
    _check(values, [])
    check_referent(session, values["type_mesure"], user)
    now = svc.clock()
    first = values.get("date_premiere_rencontre")
    if first is not None:
        _check_meeting_date(values.get("date_bon_commande"), first, now, field="date_premiere_rencontre")
    mesure = Mesure(
        reference=next_reference(session, "ME", now.year),
        organisation_id=user.organisation_id,
        referent_id=user.id,
        created_at=now,
        updated_at=now,
        statut="en_cours",
        territoire_id=territory_for_mesure(
            session, organisation_id=user.organisation_id, type_mesure=values["type_mesure"], commune=values.get("menage_commune")
        ),
        **values,
    )
    session.add(mesure)
    if first is not None:
        # The first meeting is a meeting: listed and counted like those recorded later.
        session.add(Rencontre(mesure=mesure, date=first, nature=nature, note="Première rencontre", created_by_id=user.id, created_at=now))
    session.flush()
    session.add(Event(user=user, action="create_mesure", at=now, detail={"mesure": mesure.id}))
    session.commit()
    return mesure


def check_referent(session: Session, type_mesure: str, referent: User) -> None:
    """Refuse an ASLL measure to a referent without a Diplôme d'État in social work (ASLL §4)."""
    if type_mesure in rules.START_DEADLINE_DAYS and session.get(DiplomeReferent, referent.id) is None:
        message = (
            f"ASLL §4 : les interventions sont confiées à un titulaire d'un Diplôme d'État en travail social (ASS, ES, CESF) ; "
            f"celui de {referent.full_name} n'est pas enregistré (page « Référents » des mesures)."
        )
        raise ValidationFailed(message, {"type_mesure": [message]})


def _check_meeting_date(order_date: dt.date | None, date: dt.date, now: dt.datetime, *, field: str) -> None:
    """Refuse a meeting before the order was received, or still to come."""
    if order_date and date < order_date:
        raise ValidationFailed(
            "La rencontre précède la réception du bon de commande.",
            {field: ["Une rencontre ne peut pas précéder la réception du bon de commande."]},
        )
    if date > paris_date(now):
        raise ValidationFailed("Une rencontre à venir ne se saisit pas encore.", {field: ["Cette date est dans le futur."]})


def add_rencontres(session: Session, svc: Services, mesure: Mesure, *, user: User, payload: Mapping[str, Any]) -> list[Rencontre]:
    """Record one or several meetings, all or none; the earliest one recorded is the start of support (ASLL §8)."""
    rows = load(RencontresSchema, payload, "Les rencontres ne peuvent pas être enregistrées : corrigez les erreurs signalées.")["saisie"]
    now = svc.clock()
    for index, values in enumerate(rows):
        try:
            _check_meeting_date(mesure.date_bon_commande, values["date"], now, field="date")
        except ValidationFailed as exc:
            # Said of its row, and nothing is recorded: a refused entry changes nothing.
            raise ValidationFailed(f"Rencontre {index + 1} : {exc}", {"saisie": {index: exc.errors}}) from None
    recorded = []
    for values in rows:
        recorded.append(Rencontre(mesure=mesure, created_by_id=user.id, created_at=now, **values))
        if mesure.date_premiere_rencontre is None or values["date"] < mesure.date_premiere_rencontre:
            mesure.date_premiere_rencontre = values["date"]
        session.add(Event(user=user, action="add_rencontre", at=now, detail={"mesure": mesure.id}))
    session.add_all(recorded)
    mesure.updated_at = now
    session.commit()
    return recorded


def add_renouvellement(session: Session, svc: Services, mesure: Mesure, *, user: User, payload: Mapping[str, Any], demande: str | None = None) -> Renouvellement:
    """Record a Maintien renewal decided by the DPDS (ASLL §8, §9.2); ``demande``: the bilan that asked for it."""
    row = record_renouvellement(session, svc, mesure, user=user, payload=payload, demande=demande)
    session.commit()
    return row


def record_renouvellement(session: Session, svc: Services, mesure: Mesure, *, user: User, payload: Mapping[str, Any], demande: str | None = None) -> Renouvellement:
    """Check and add a Maintien renewal, in the caller's transaction (``add_renouvellement`` commits it)."""
    values = load(RenouvellementSchema, payload, "Le renouvellement ne peut pas être enregistré : corrigez les erreurs signalées.")
    renewal = rules.Renewal(values["date_decision"], values["duree_mois"], values["motif"])
    _check(
        {
            "type_mesure": mesure.type_mesure,
            "date_bon_commande": mesure.date_bon_commande,
            "date_premiere_rencontre": mesure.date_premiere_rencontre,
            "duree_mois": mesure.duree_mois,
        },
        [*_renewals(mesure), renewal],
    )
    start = mesure.date_premiere_rencontre or mesure.date_bon_commande
    if start and renewal.decision_date < start:
        raise ValidationFailed(
            "La décision de renouvellement précède le début de la mesure.",
            {"date_decision": ["La décision de renouvellement ne peut pas précéder le début de la mesure."]},
        )
    now = svc.clock()
    row = Renouvellement(mesure=mesure, created_by_id=user.id, created_at=now, **values)
    session.add(row)
    mesure.updated_at = now
    session.add(Event(user=user, action="add_renouvellement", at=now, detail={"mesure": mesure.id, **({"demande": demande} if demande else {})}))
    return row


def meeting_dates(mesure: Mesure) -> set[dt.date]:
    """Days the household was met: the meetings recorded, and the first meeting itself (ASLL §8)."""
    days = {r.date for r in mesure.rencontres}
    if mesure.date_premiere_rencontre:
        days.add(mesure.date_premiere_rencontre)
    return days


def bilans_done(mesure: Mesure) -> set[str]:
    """The bilans of a measure already transmitted (submitted), by slot."""
    kinds = registry()
    return {
        d.echeance
        for d in mesure.documents
        if d.echeance and d.statut != "brouillon" and d.kind in kinds and kinds[d.kind].is_bilan
    }


def plain(mesure: Mesure, today: dt.date | None = None, slot: str | None = None) -> dict[str, Any]:
    """Return a measure as the plain values a kind's ``prefill`` reads.

    With ``slot``, the period that bilan covers is added: its dates, the meetings held in it and
    the weeks or fortnights that fell short, and the months granted so far.
    """
    period = _period_of(mesure, today, slot) if slot is not None and today is not None else {}
    return {
        "reference": mesure.reference,
        "type_mesure": mesure.type_mesure,
        "date_bon_commande": mesure.date_bon_commande.isoformat() if mesure.date_bon_commande else None,
        "date_premiere_rencontre": mesure.date_premiere_rencontre.isoformat() if mesure.date_premiere_rencontre else None,
        "menage_nom": mesure.menage_nom,
        "menage_prenom": mesure.menage_prenom,
        "menage_commune": mesure.menage_commune,
        "referent_nom": mesure.referent.full_name,
        "operateur": mesure.organisation.name,
        "travailleur_social": mesure.travailleur_social,
        "duree_mois": mesure.duree_mois,
        "duree_accordee_mois": mesure.duree_mois + sum(r.duree_mois for r in mesure.renouvellements),
        **period,
    }


def _period_of(mesure: Mesure, today: dt.date, slot: str) -> dict[str, Any]:
    """The period the bilan of ``slot`` covers, what happened in it, and the bilan's due date."""
    view = overview(mesure, today, bilans_done(mesure))
    due = next((d for d in view.calendar.dues if d.slot == slot), None)
    chosen = None
    if slot.startswith("periode-"):
        index = int(slot.split("-")[1])
        chosen = view.calendar.periods[index] if index < len(view.calendar.periods) else None
    elif view.calendar.periods:
        chosen = view.calendar.periods[0]
    period: dict[str, Any] = {}
    if chosen is not None:
        start = chosen.start
        end = chosen.end if slot != "intermediaire" else (due.due if due else chosen.end)
        period = {
            "periode_debut": start.isoformat(),
            "periode_fin": end.isoformat(),
            "rencontres_tenues": sum(1 for day in meeting_dates(mesure) if start <= day <= end),
            "periodes_sans_rencontre": sum(1 for w in view.windows if w.short and start <= w.start and w.end <= end),
        }
    return {**period, "echeance": slot, "echeance_date": due.due if due else None}


def due_date_of(mesure: Mesure, slot: str, today: dt.date) -> dt.date | None:
    """The date a given bilan of the measure is due, as the measure stands today."""
    view = overview(mesure, today)
    return next((d.due for d in view.calendar.dues if d.slot == slot), None)


def next_bilan(mesure: Mesure, today: dt.date) -> rules.Due | None:
    """The measure's first bilan not transmitted yet."""
    view = overview(mesure, today, bilans_done(mesure))
    return next((d for d in view.calendar.dues if d.slot and not d.done), None)


def start_document(session: Session, svc: Services, mesure: Mesure, *, kind_name: str, user: User) -> Document:
    """Start a draft of ``kind_name`` about ``mesure``, prefilled from it.

    A bilan answers the measure's first bilan not yet transmitted; if a draft of it exists
    already, that draft is returned rather than a second one.
    """
    kind = get_kind(kind_name)
    if kind.prefill is None or mesure.type_mesure not in kind.mesure_types:
        raise DocumentError(f"Un document « {kind.title} » ne se rattache pas à cette mesure.")
    today = paris_date(svc.clock())
    slot = None
    if kind.is_bilan:
        due = next_bilan(mesure, today)
        if due is None:
            raise DocumentError(
                "Aucun bilan n'est attendu : tous les bilans de cette mesure ont été transmis, "
                "ou la mesure n'a pas encore commencé (saisissez la première rencontre)."
            )
        slot = due.slot
        existing = next((d for d in mesure.documents if d.kind == kind.name and d.echeance == slot and d.statut == "brouillon"), None)
        if existing is not None:
            return existing
    values = plain(mesure, today, slot)
    doc = create_draft(session, svc, kind_name=kind.name, user=user, payload=kind.prefill(values), mesure_id=mesure.id)
    if slot is not None:
        doc.echeance = slot
        doc.echeance_date = values.get("echeance_date")
        session.commit()
    return doc


def close_mesure(session: Session, svc: Services, mesure: Mesure, *, user: User, payload: Mapping[str, Any]) -> Mesure:
    """End a measure at its term or before; its last bilan becomes due from that day (ASLL §9)."""
    if mesure.date_fin_effective is not None:
        raise ValidationFailed(
            "Cette mesure est déjà close.", {"_schema": [f"La mesure est close depuis le {mesure.date_fin_effective.strftime('%d/%m/%Y')}."]}
        )
    values = load(ClotureSchema, payload, "La mesure ne peut pas être close : corrigez les erreurs signalées.")
    now = svc.clock()
    if values["date_fin"] > paris_date(now):
        raise ValidationFailed("La fin ne se saisit qu'une fois survenue.", {"date_fin": ["Cette date est dans le futur."]})
    try:
        rules.check(
            mesure.type_mesure,
            order_date=mesure.date_bon_commande,
            first_meeting=mesure.date_premiere_rencontre,
            months=mesure.duree_mois,
            renewals=_renewals(mesure),
            ended=values["date_fin"],
        )
    except rules.MesureRuleError as exc:
        raise ValidationFailed(str(exc), {exc.field: [str(exc)]}) from None
    mesure.date_fin_effective = values["date_fin"]
    mesure.date_debut_relais = values.get("date_debut_relais")
    mesure.motif_fin = values["motif"]
    mesure.commentaire_fin = values.get("commentaire")
    mesure.statut = "terminee"
    mesure.updated_at = now
    session.add(Event(user=user, action="close_mesure", at=now, detail={"mesure": mesure.id, "motif": values["motif"]}))
    session.commit()
    return mesure


@dataclass(frozen=True)
class Overview:
    """A measure's computed calendar, as plain values for pages and exports."""

    calendar: rules.MeasureCalendar
    windows: list[rules.Window]
    today: dt.date
    started: bool = True  # a first meeting was held (ASLL §8)
    closed: dt.date | None = None  # the day the measure was closed, if it was
    awaiting_order: bool = False  # an ASLL measure requested, its bon de commande not received (§6.3, §8)

    @property
    def late(self) -> list[rules.Due]:
        return [d for d in self.calendar.dues if d.late(self.today)]

    @property
    def next_due(self) -> rules.Due | None:
        pending = [d for d in self.calendar.dues if not d.done]
        return pending[0] if pending else None

    @property
    def short_windows(self) -> list[rules.Window]:
        return [w for w in self.windows if w.short]

    @property
    def statut_label(self) -> str:
        """Where the measure stands today, in French."""
        cal = self.calendar
        pending_bilan = any(d.slot and not d.done for d in cal.dues)
        if self.closed is not None:
            closed = f"Close le {self.closed.strftime('%d/%m/%Y')}"
            return f"{closed}, bilan à transmettre" if pending_bilan else closed
        if self.awaiting_order:
            return "Demandée, en attente du bon de commande"
        if not self.started or cal.start is None or cal.start > self.today:
            return "À démarrer"
        if cal.end is not None and cal.end < self.today:
            return "Terminée, bilan à transmettre" if pending_bilan else "Terminée"
        return "En cours"


def calendar(mesure: Mesure, bilans_done: Iterable[str] = ()) -> rules.MeasureCalendar:
    """Compute a measure's start deadline, periods and dues (its meetings are not read)."""
    return rules.compute(
        mesure.type_mesure,
        order_date=mesure.date_bon_commande,
        first_meeting=mesure.date_premiere_rencontre,
        months=mesure.duree_mois,
        renewals=_renewals(mesure),
        bilans_done=bilans_done,
        ended=mesure.date_fin_effective,
        relay_start=mesure.date_debut_relais,
    )


def overview(mesure: Mesure, today: dt.date, bilans_done: Iterable[str] = ()) -> Overview:
    """Compute a measure's start deadline, periods, dues and meeting rhythm on ``today``."""
    cal = calendar(mesure, bilans_done)
    windows: list[rules.Window] = []
    if cal.start and cal.end and mesure.date_premiere_rencontre:
        windows = rules.rhythm(mesure.type_mesure, cal.start, cal.end, today, meeting_dates(mesure))
    awaiting = mesure.type_mesure in rules.START_DEADLINE_DAYS and mesure.date_bon_commande is None
    return Overview(cal, windows, today, started=mesure.date_premiere_rencontre is not None, closed=mesure.date_fin_effective, awaiting_order=awaiting)


def worklist(mesures: Iterable[Mesure], today: dt.date) -> list[tuple[Mesure, Overview]]:
    """Pair each measure with its overview, the soonest due (late first) at the top."""
    rows = [(m, overview(m, today, bilans_done(m))) for m in mesures]
    far = dt.date.max
    rows.sort(key=lambda pair: (pair[1].next_due.due if pair[1].next_due else far, pair[0].id))
    return rows


CSV_HEADER = [
    "Référence", "Type", "Ménage", "Commune", "Opérateur", "Référent", "Bon de commande", "Date limite de démarrage",
    "Démarrage", "Démarrage dans les délais", "Fin", "Prochaine échéance", "Date de l'échéance", "En retard",
    "Quinzaines ou semaines sans rencontre",
]


def export_csv(rows: list[tuple[Mesure, Overview]]) -> str:
    """Return the worklist as CSV (semicolons and a BOM, so that French Excel opens it right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)

    def day(value: dt.date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else ""

    for mesure, view in rows:
        nxt = view.next_due
        cells = [
            mesure.reference,
            rules.TYPES[mesure.type_mesure],
            f"{mesure.menage_nom} {mesure.menage_prenom}",
            mesure.menage_commune or "",
            mesure.organisation.name,
            mesure.referent.full_name,
            day(mesure.date_bon_commande),
            day(view.calendar.start_deadline),
            day(mesure.date_premiere_rencontre),
            {True: "oui", False: "non", None: ""}[view.calendar.start_on_time],
            day(view.calendar.end),
            nxt.title if nxt else "",
            day(nxt.due) if nxt else "",
            "oui" if view.late else "non",
            str(len(view.short_windows)),
        ]
        # A cell starting with = + - @ would be run as a formula by a spreadsheet.
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells])
    return out.getvalue()


def _choice_label(kind: Kind, group: str, name: str, value: Any) -> str:
    field = kind.schema().fields.get(group)
    inner = getattr(field, "schema", None)
    if inner is None or name not in inner.fields:
        return str(value)
    return choices_of(inner.fields[name]).get(value, str(value))


def annual_figures(session: Session, organisation_id: int, year: int, today: dt.date) -> dict[str, Any]:
    """Count, from the records, what ASLL §10 asks the operator's yearly bilan to show."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    mesures = session.scalars(select(Mesure).where(Mesure.organisation_id == organisation_id)).unique().all()
    documents = session.scalars(
        select(Document).where(Document.organisation_id == organisation_id, Document.statut != "brouillon")
    ).unique().all()
    return {"par_type": _measure_figures(mesures, first, last, today), **_bilan_figures(documents, first, last)}


def _measure_figures(mesures: Sequence[Mesure], first: dt.date, last: dt.date, today: dt.date) -> list[dict[str, Any]]:
    """The measures followed in the year, by type: started, ended and renewed in it."""
    per_type: dict[str, dict[str, int]] = {}
    for mesure in mesures:
        cal = overview(mesure, today).calendar
        if cal.start is None or cal.start > last or (cal.end is not None and cal.end < first):
            continue
        row = per_type.setdefault(mesure.type_mesure, {"suivies": 0, "commencees": 0, "terminees": 0, "renouvelees": 0})
        row["suivies"] += 1
        if mesure.date_premiere_rencontre and first <= mesure.date_premiere_rencontre <= last:
            row["commencees"] += 1
        # ASLL §8: support starts on the first meeting. A measure never met has only the
        # provisional dates of its order (§2.1): reaching them is not ending a support (§10).
        started = mesure.date_premiere_rencontre is not None
        if started and cal.end is not None and first <= cal.end <= last and cal.end <= today:
            row["terminees"] += 1
        if any(first <= r.date_decision <= last for r in mesure.renouvellements):
            row["renouvelees"] += 1
    return [{"type_mesure": t, **counts} for t, counts in sorted(per_type.items())]


def _bilan_figures(documents: Sequence[Document], first: dt.date, last: dt.date) -> dict[str, Any]:
    """What the bilans sent in the year say: their objectives' results, what the annual kind tallies."""
    kinds = registry()
    statuses = Counter(objective_counts({}))  # every result, at zero
    tallies: dict[str, Counter[str]] = {figure: Counter() for figure in annual.TALLIES}
    sent = late = 0
    for doc in documents:
        kind = kinds.get(doc.kind)
        if kind is None or not kind.is_bilan or doc.submitted_at is None or not first <= paris_date(doc.submitted_at) <= last:
            continue
        sent += 1
        late += doc.late
        data = doc.submitted_data or {}
        statuses.update(objective_counts(data))
        for figure, (group, name) in annual.TALLIES.items():
            value = (data.get(group) or {}).get(name)
            if value:
                tallies[figure][_choice_label(kind, group, name, value)] += 1
    return {
        **statuses,
        **{figure: [{"libelle": k, "nombre": v} for k, v in sorted(counts.items())] for figure, counts in tallies.items()},
        "bilans_transmis": sent,
        "bilans_en_retard": late,
    }


def start_annual_bilan(session: Session, svc: Services, *, user: User, year: int) -> Document:
    """Start (or return the draft of) the operator's yearly bilan, its figures computed now."""
    today = paris_date(svc.clock())
    if not 2000 <= year <= today.year:
        raise DocumentError(f"Année invalide : {year}. Le bilan annuel porte sur une année écoulée ou en cours.")
    slot = f"annuel-{year}"
    existing = session.scalar(
        select(Document).where(
            Document.organisation_id == user.organisation_id, Document.kind == annual.KIND.name, Document.echeance == slot
        )
    )
    if existing is not None:
        if existing.statut == "brouillon":
            return existing
        raise DocumentError(f"Le bilan annuel {year} de votre organisation a déjà été transmis ({existing.reference}).")
    figures = annual_figures(session, user.organisation_id, year, today)
    payload = {"operateur": user.organisation.name, "annee": year, "chiffres": figures, "qualitatif": annual.qualitative_rows(figures)}
    doc = create_draft(session, svc, kind_name=annual.KIND.name, user=user, payload=payload)
    doc.echeance = slot
    doc.echeance_date = annual.due(year)
    session.commit()
    return doc


class MeasureRules(ParentRules):
    """What a measure adds to the lifecycle: the due date of its bilans."""

    def on_submit(self, doc: Document, version: int, now: dt.datetime) -> None:
        # The due date follows the measure as it stands now (a renewal or a first meeting
        # recorded since the draft was started may have moved it).
        if doc.mesure is not None and doc.echeance:
            doc.echeance_date = due_date_of(doc.mesure, doc.echeance, paris_date(now)) or doc.echeance_date
