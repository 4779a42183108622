"""Archive export packages: a SEDA 2.2 transfer and a BagIt bag, each written as a streamed ZIP.

Plain values in, bytes out: no database, no Flask. The caller selects the archived records,
describes each one as an :class:`ExportUnit` (one archive record = one SEDA ArchiveUnit = one
folder of the bag) and hands a seekable binary file (a temporary file) to :func:`write_seda` or
:func:`write_bagit`.

- **Streaming.** Files are copied into the ZIP by 1 MiB chunks, hashed on the way: exporting
  1 GB of files never holds more than a chunk of them in memory. Only the metadata (manifest,
  tag files, JSON) is built in memory; it is a few KB per record.
- **Integrity.** Each file's SHA-512 and size are those the caller declares (the ones recorded
  when the file was archived). The writers recompute both while copying and raise
  :class:`ExportError` on any difference: a corrupt file is never exported silently.
- **On error** (:class:`ExportError` or any other exception) the writers truncate ``out`` back to
  where it started before re-raising: no half-written package is left looking like a ZIP. The
  caller must still treat ``out`` as garbage (delete the temporary file, never offer it).
- **Deterministic.** The same input gives the same ZIP bytes: entries in input order, entry dates
  from ``TransferInfo.date``, fixed modes, no compression (see :data:`COMPRESSION`).
- **Sensitive data.** The metadata holds what the caller passes (title, description, reference,
  organisation name...) and nothing else: no field is invented for household members' names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from webforms.timeutil import PARIS, zip_date_time

SEDA_NS = "fr:gouv:culture:archivesdefrance:seda:v2.2"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Namespace of the one element this module adds under SEDA's extension point
# BinaryDataObject/OtherMetadata (the file's role, which SEDA has no element for).
WEBFORMS_NS = "urn:x-webforms:archive-export:1"
SCHEMA_DIR = Path(__file__).resolve().parent / "seda-2.2"
SCHEMA_MAIN = SCHEMA_DIR / "seda-2.2-main.xsd"

CHUNK = 1 << 20  # bytes read and written at a time
SEDA_MANIFEST = "manifest.xml"
SEDA_CONTENT = "content"  # files of a SEDA package: content/<unit identifier>/<file name>
BAG_METADATA = "metadata.json"  # per-unit metadata in the bag, beside the unit's files
# ZIP_STORED for every entry: the payload (PDF, JPEG, PNG) is already compressed, so deflating
# it would cost CPU for nothing; the metadata is a few KB. Stored entries also keep the output
# byte-identical whatever zlib version runs, and can be read in place by range.
COMPRESSION = zipfile.ZIP_STORED

FINAL_ACTIONS = {"transfert": "Keep", "destruction": "Destroy"}
# PRONOM identifiers of the formats the service archives (checked against PRONOM's registry).
PRONOM = {
    "PDF/A-3b": "fmt/480",
    "PDF 1.7": "fmt/276",
    "JPEG (JFIF 1.01)": "fmt/43",
    "PNG 1.0": "fmt/11",
    "PNG 1.2": "fmt/13",
}

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA512 = re.compile(r"[0-9a-f]{128}")
_MIME = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_PUID = re.compile(r"(x-)?fmt/[0-9]+")
# What XML 1.0 forbids (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ExportError(Exception):
    """An export refused or interrupted; the message is French and names the record or file."""


@dataclass(frozen=True)
class ExportFile:
    """One archived file of a record."""

    path: Path  # where the bytes are on disk (read by chunks, never whole)
    name: str  # file name inside the package: [A-Za-z0-9._-], e.g. "copie-signee.pdf"
    sha512: str  # expected SHA-512 (hex), recomputed while copying
    size: int  # expected size in bytes (> 0)
    mime: str  # "application/pdf", "image/jpeg", "image/png"
    role: str  # French label: "Copie signée", "Document généré (PDF/A-3b)"
    format_id: str | None = None  # PRONOM PUID if known (see PRONOM)


@dataclass(frozen=True)
class ExportUnit:
    """One archive record: one SEDA ArchiveUnit, one folder of the bag."""

    identifier: str  # stable, safe as a folder name, e.g. "archive-12"
    title: str  # e.g. "Fiche de saisine FS-2026-0007 — copie signée"
    description: str
    reference: str  # the document's reference number
    kind: str  # kind code, e.g. "fiche_saisine"
    kind_title: str  # "Fiche de saisine"
    organisation: str  # the association's name (originating agency)
    start_date: date  # dates the record covers
    end_date: date
    deposited_at: datetime  # aware
    retention_years: int
    retention_start: date | None  # None while the term is not known
    final_action: str  # "transfert" or "destruction"
    files: tuple[ExportFile, ...]
    supersedes: str | None = None  # identifier of the record this one corrects


@dataclass(frozen=True)
class TransferInfo:
    """The transfer message: who sends what to whom."""

    message_identifier: str  # e.g. "WEBFORMS-20261122-0001"; also the bag's folder name
    date: datetime  # aware
    comment: str
    archival_agency: str  # identifier of the Archives départementales service
    transferring_agency: str  # identifier of the Département service transferring
    archival_agreement: str | None = None


# --------------------------------------------------------------------------- checks


def _text(value: str) -> str:
    """User text made storable in XML 1.0 (and JSON): forbidden characters are dropped."""
    return _NOT_XML.sub("", value)


def _token(value: str) -> str:
    """Text as an XML token: forbidden characters dropped, whitespace collapsed."""
    return " ".join(_text(value).split())


def _required(value: str, what: str) -> str:
    token = _token(value)
    if not token:
        raise ExportError(f"{what} est vide.")
    return token


def _safe_name(value: str, what: str) -> str:
    """A name usable as a path segment in a ZIP, on any file system, and in an XML ID."""
    if not isinstance(value, str) or not _SAFE_NAME.fullmatch(value) or ".." in value or value.endswith("."):
        raise ExportError(
            f"{what} {value!r} est refusé : seuls les lettres sans accent, les chiffres, « . », « _ » et « - » "
            "sont admis (128 caractères au plus, sans « .. », ni « / » ou « \\ »)."
        )
    return value


def _aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ExportError(f"{what} doit porter un fuseau horaire.")


def _check(units: Sequence[ExportUnit], info: TransferInfo) -> None:
    """Refuse, before anything is written, what would make an invalid or unsafe package."""
    _safe_name(info.message_identifier, "L'identifiant du transfert")
    _aware(info.date, "La date du transfert")
    _required(info.archival_agency, "L'identifiant du service d'archives")
    _required(info.transferring_agency, "L'identifiant du service versant")
    if info.archival_agreement is not None:
        _required(info.archival_agreement, "L'accord de versement")
    if not units:
        raise ExportError("Aucune archive à exporter.")
    seen: set[str] = set()
    for unit in units:
        ident = _safe_name(unit.identifier, "L'identifiant d'archive")
        # Case-insensitive: two folders differing by case collide when unzipped on Windows or macOS.
        if ident.lower() in seen:
            raise ExportError(f"L'archive « {ident} » figure deux fois dans la sélection.")
        seen.add(ident.lower())
        label = f"archive « {ident} »"
        for value, what in (
            (unit.title, "Le titre"),
            (unit.reference, "La référence"),
            (unit.kind, "Le type"),
            (unit.kind_title, "Le libellé du type"),
            (unit.organisation, "L'organisme"),
        ):
            _required(value, f"{what} de l'{label}")
        if unit.end_date < unit.start_date:
            raise ExportError(f"Les dates de l'{label} sont inversées ({unit.start_date} > {unit.end_date}).")
        _aware(unit.deposited_at, f"La date de dépôt de l'{label}")
        if isinstance(unit.retention_years, bool) or not isinstance(unit.retention_years, int) or unit.retention_years < 0:
            raise ExportError(f"La durée de conservation de l'{label} est invalide : {unit.retention_years!r}.")
        if unit.final_action not in FINAL_ACTIONS:
            raise ExportError(
                f"Le sort final de l'{label} est inconnu : {unit.final_action!r} (attendu : transfert ou destruction)."
            )
        if unit.supersedes is not None and _required(unit.supersedes, f"L'archive corrigée par l'{label}") == ident:
            raise ExportError(f"L'{label} ne peut pas se corriger elle-même.")
        names: set[str] = set()
        for file in unit.files:
            name = _safe_name(file.name, f"Le nom de fichier de l'{label}")
            if name.lower() == BAG_METADATA or name.lower() in names:
                reason = "est réservé" if name.lower() == BAG_METADATA else "figure deux fois"
                raise ExportError(f"Le nom de fichier « {name} » {reason} dans l'{label}.")
            names.add(name.lower())
            where = f"Le fichier « {name} » de l'{label}"
            if not isinstance(file.sha512, str) or not _SHA512.fullmatch(file.sha512.lower()):
                raise ExportError(f"{where} n'a pas d'empreinte SHA-512 valide.")
            if isinstance(file.size, bool) or not isinstance(file.size, int) or file.size <= 0:
                raise ExportError(f"{where} a une taille invalide : {file.size!r}.")
            if not _MIME.fullmatch(file.mime):
                raise ExportError(f"{where} a un type MIME invalide : {file.mime!r}.")
            if file.format_id is not None and not _PUID.fullmatch(file.format_id):
                raise ExportError(f"{where} a un identifiant PRONOM invalide : {file.format_id!r}.")
            _required(file.role, f"Le rôle du fichier « {name} » de l'{label}")


def _check_on_disk(units: Sequence[ExportUnit]) -> None:
    """Missing or resized files fail before a byte is written (the copy checks again)."""
    for unit in units:
        for file in unit.files:
            where = f"Le fichier « {file.name} » de l'archive « {unit.identifier} »"
            try:
                size = Path(file.path).stat().st_size
            except OSError as exc:
                raise ExportError(f"{where} est introuvable ou illisible.") from exc
            if size != file.size:
                raise ExportError(f"{where} fait {size} octets au lieu des {file.size} enregistrés : il a été modifié.")


# --------------------------------------------------------------------------- SEDA manifest


def appraisal_rule(years: int) -> str:
    """The AppraisalRule/Rule identifier of a retention of ``years`` years: ``APP-<years>A``.

    SEDA only carries a rule *identifier*; the receiving archiving system resolves it in its
    own rule referential. ``APP-10A`` reads "durée d'utilité administrative de 10 ans"; the
    Archives départementales must know these codes (or map them) before the first transfer.
    """
    return f"APP-{years}A"


def _au_id(identifier: str) -> str:
    # XML IDs are NCNames (no leading digit): prefixed, the safe identifiers always are.
    return f"AU-{identifier}"


def _group_id(identifier: str) -> str:
    return f"DOG-{identifier}"


def _seda_uri(unit: ExportUnit, file: ExportFile) -> str:
    return f"{SEDA_CONTENT}/{unit.identifier}/{file.name}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{SEDA_NS}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _binary_object(group: etree._Element, unit: ExportUnit, file: ExportFile, index: int) -> None:
    # Order of the children: BinaryDataObjectType in seda-2.2-technical.xsd.
    obj = _sub(group, "BinaryDataObject", id=f"BDO-{unit.identifier}-{index}")
    _sub(obj, "DataObjectVersion", f"BinaryMaster_{index}")
    _sub(obj, "Uri", _seda_uri(unit, file))
    _sub(obj, "MessageDigest", file.sha512.lower(), algorithm="SHA-512")
    _sub(obj, "Size", str(file.size))
    fmt = _sub(obj, "FormatIdentification")
    _sub(fmt, "MimeType", file.mime)
    if file.format_id:
        _sub(fmt, "FormatId", file.format_id)
    _sub(_sub(obj, "FileInfo"), "Filename", file.name)
    # SEDA has no element for a file's role: its extension point OtherMetadata takes elements
    # of another namespace (processContents="lax"), so the schema still validates them.
    role = etree.SubElement(_sub(obj, "OtherMetadata"), f"{{{WEBFORMS_NS}}}Role")
    role.text = _token(file.role)


def _archive_unit(parent: etree._Element, unit: ExportUnit, info: TransferInfo, in_transfer: set[str]) -> None:
    au = _sub(parent, "ArchiveUnit", id=_au_id(unit.identifier))
    # Management: ManagementGroup in seda-2.2-management.xsd (Rule, StartDate?, FinalAction).
    rule = _sub(_sub(au, "Management"), "AppraisalRule")
    _sub(rule, "Rule", appraisal_rule(unit.retention_years))
    if unit.retention_start is not None:
        _sub(rule, "StartDate", unit.retention_start.isoformat())
    _sub(rule, "FinalAction", FINAL_ACTIONS[unit.final_action])
    # Content: BaseObjectGroup in seda-2.2-ontology.xsd decides the order.
    content = _sub(au, "Content")
    _sub(content, "DescriptionLevel", "Item")
    _sub(content, "Title", _text(unit.title).strip(), **{f"{{{XML_NS}}}lang": "fr"})
    _sub(content, "OriginatingSystemId", unit.identifier)
    _sub(content, "OriginatingAgencyArchiveUnitIdentifier", _token(unit.reference))
    description = _text(unit.description).strip()
    if description:
        _sub(content, "Description", description, **{f"{{{XML_NS}}}lang": "fr"})
    _sub(content, "DocumentType", _token(unit.kind_title))
    _sub(content, "Language", "fr")
    _sub(content, "DescriptionLanguage", "fr")
    _sub(content, "Tag", _token(unit.kind))
    _sub(_sub(content, "OriginatingAgency"), "Identifier", _token(unit.organisation))
    _sub(_sub(content, "SubmissionAgency"), "Identifier", _token(info.transferring_agency))
    if unit.supersedes is not None:
        replaces = _sub(_sub(content, "RelatedObjectReference"), "Replaces")
        if unit.supersedes in in_transfer:
            _sub(replaces, "ArchiveUnitRefId", _au_id(unit.supersedes))
        else:  # transferred earlier, or not at all: named by its identifier in webforms
            _sub(replaces, "ExternalReference", _token(unit.supersedes))
    _sub(content, "RegisteredDate", unit.deposited_at.astimezone(UTC).isoformat(timespec="seconds"))
    _sub(content, "StartDate", unit.start_date.isoformat())
    _sub(content, "EndDate", unit.end_date.isoformat())
    if unit.files:
        _sub(_sub(au, "DataObjectReference"), "DataObjectGroupReferenceId", _group_id(unit.identifier))


def seda_manifest(units: Sequence[ExportUnit], info: TransferInfo) -> bytes:
    """The ``manifest.xml`` of a SEDA 2.2 ArchiveTransfer of ``units`` (UTF-8, with declaration).

    Shape: one DataObjectGroup per record holding its files as BinaryDataObjects
    (``BinaryMaster_1``, ``_2``...: Uri, SHA-512, size, MIME type and PUID, file name, role), one
    ArchiveUnit per record (appraisal rule, description, reference, dates, originating agency)
    pointing to its group. Digests and sizes are the declared ones, which the writers verify.
    """
    _check(units, info)
    root = etree.Element(f"{{{SEDA_NS}}}ArchiveTransfer", nsmap={None: SEDA_NS, "webforms": WEBFORMS_NS})
    # Order: MessageType, BusinessMessageType, then ArchiveTransferType in seda-2.2-main.xsd.
    comment = _text(info.comment).strip()
    if comment:
        _sub(root, "Comment", comment)
    _sub(root, "Date", info.date.isoformat(timespec="seconds"))
    _sub(root, "MessageIdentifier", info.message_identifier)
    if info.archival_agreement is not None:
        _sub(root, "ArchivalAgreement", _token(info.archival_agreement))
    codes = _sub(root, "CodeListVersions")
    for code in (
        "ReplyCodeListVersion",
        "MessageDigestAlgorithmCodeListVersion",
        "MimeTypeCodeListVersion",
        "FileFormatCodeListVersion",
        "DataObjectVersionCodeListVersion",
        "AppraisalRuleCodeListVersion",
    ):
        _sub(codes, code, f"{code}0")  # the versions Vitam's own examples declare
    package = _sub(root, "DataObjectPackage")
    for unit in units:
        if unit.files:
            group = _sub(package, "DataObjectGroup", id=_group_id(unit.identifier))
            for index, file in enumerate(unit.files, start=1):
                _binary_object(group, unit, file, index)
    descriptive = _sub(package, "DescriptiveMetadata")
    in_transfer = {unit.identifier for unit in units}
    for unit in units:
        _archive_unit(descriptive, unit, info, in_transfer)
    # One producer per transfer at this level: the Département service holding the records;
    # each record names its association in Content/OriginatingAgency.
    management = _sub(package, "ManagementMetadata")
    _sub(management, "OriginatingAgencyIdentifier", _token(info.transferring_agency))
    _sub(management, "SubmissionAgencyIdentifier", _token(info.transferring_agency))
    _sub(_sub(root, "ArchivalAgency"), "Identifier", _token(info.archival_agency))
    _sub(_sub(root, "TransferringAgency"), "Identifier", _token(info.transferring_agency))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


_schema: etree.XMLSchema | None = None
_schema_lock = threading.Lock()  # guards the lazy load and the schema's shared error log


def _parser() -> etree.XMLParser:
    # One per call (lxml parsers are not shared between threads); no entities, no network.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _seda_schema() -> etree.XMLSchema:
    """The SEDA 2.2 schema (8 files), parsed on first use and kept: about 5 ms, paid once, not per manifest."""
    global _schema
    if _schema is None:
        _schema = etree.XMLSchema(etree.parse(str(SCHEMA_MAIN), _parser()))
    return _schema


def validate_seda(manifest: bytes) -> list[str]:
    """Validate a manifest against ``seda-2.2-main.xsd`` (offline); French error lines, [] if valid.

    The schema's own messages come from libxml2, in English, after a French prefix. Once the
    schema is satisfied, references (IDREFs) are also checked to resolve.
    """
    try:
        root = etree.fromstring(manifest, _parser())
    except etree.XMLSyntaxError as exc:
        return [f"Bordereau XML mal formé : {exc}"]
    if root.tag != f"{{{SEDA_NS}}}ArchiveTransfer":
        return [f"L'élément racine est {root.tag}, pas ArchiveTransfer (SEDA 2.2)."]
    with _schema_lock:
        schema = _seda_schema()
        if not schema.validate(root):
            return [f"Ligne {error.line} : {error.message}" for error in schema.error_log]
    return _dangling_references(root)


# Elements whose text is an xsd:IDREF in SEDA 2.2 (types.xsd, technical.xsd, ontology.xsd).
_IDREF_ELEMENTS = ("DataObjectReferenceId", "DataObjectGroupReferenceId", "ArchiveUnitRefId", "SignedObjectId")


def _dangling_references(root: etree._Element) -> list[str]:
    """References to no element of the manifest: libxml2's XSD validation checks that IDs are
    unique but not that IDREFs resolve, so an ArchiveUnit pointing to a missing group would pass."""
    ids = {value for element in root.iter() for value in (element.get("id"), element.get(f"{{{XML_NS}}}id")) if value}
    errors = []
    for element in root.iter(*(f"{{{SEDA_NS}}}{name}" for name in _IDREF_ELEMENTS)):
        if (element.text or "").strip() not in ids:
            errors.append(f"Ligne {element.sourceline} : {etree.QName(element).localname} « {element.text} » ne désigne aucun élément du bordereau.")
    for element in root.iter(f"{{{SEDA_NS}}}Relationship"):
        if element.get("target") not in ids:
            errors.append(f"Ligne {element.sourceline} : Relationship vers « {element.get('target')} », qui n'existe pas.")
    return errors


# --------------------------------------------------------------------------- ZIP writing


class _Zip:
    """A ZIP written to ``out``: fixed entry dates and modes, stored entries, verified copies."""

    def __init__(self, archive: zipfile.ZipFile, moment: datetime) -> None:
        self.archive = archive
        self.date_time = zip_date_time(moment)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = COMPRESSION
        info.create_system = 3  # Unix, whatever platform writes (it is in the bytes)
        info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
        return info

    def add_bytes(self, name: str, data: bytes) -> None:
        self.archive.writestr(self._info(name), data)

    def add_file(self, name: str, unit: ExportUnit, file: ExportFile) -> None:
        """Copy ``file`` by chunks, hashing it; ExportError if its bytes are not the declared ones."""
        digest = hashlib.sha512()
        size = 0
        buffer = bytearray(CHUNK)  # one reused buffer: the copy allocates nothing per chunk
        view = memoryview(buffer)
        where = f"Le fichier « {file.name} » de l'archive « {unit.identifier} »"
        try:
            source = Path(file.path).open("rb")  # noqa: SIM115 (closed by the with below; opening has its own message)
        except OSError as exc:
            raise ExportError(f"{where} est introuvable ou illisible.") from exc
        # force_zip64: the entry's size is only known by zipfile once written; the ZIP64 extra
        # field (20 bytes) lets any entry exceed 4 GiB.
        with source, self.archive.open(self._info(name), "w", force_zip64=True) as target:
            while count := source.readinto(buffer):
                chunk = view[:count]
                digest.update(chunk)
                target.write(chunk)
                size += count
        if size != file.size:
            raise ExportError(f"{where} fait {size} octets au lieu des {file.size} enregistrés : export interrompu.")
        if digest.hexdigest() != file.sha512.lower():
            raise ExportError(
                f"{where} ne correspond plus à son empreinte SHA-512 enregistrée (fichier altéré) : export interrompu."
            )


@contextlib.contextmanager
def _zip_to(out: BinaryIO, moment: datetime) -> Iterator[_Zip]:
    """Write a ZIP to ``out``; on any error, truncate ``out`` to where it started and re-raise."""
    start = out.tell()
    try:
        with zipfile.ZipFile(out, "w", COMPRESSION, allowZip64=True) as archive:
            yield _Zip(archive, moment)
    except BaseException:
        # zipfile.ZipFile.__exit__ has written a central directory over the partial entries:
        # cut it all, so that what is left cannot pass for a (smaller) valid package.
        with contextlib.suppress(OSError, ValueError):
            out.seek(start)
            out.truncate()
        raise


def write_seda(units: Sequence[ExportUnit], info: TransferInfo, out: BinaryIO) -> None:
    """Write a SEDA 2.2 transfer package to ``out`` (seekable): ``manifest.xml`` at the root, the
    files under ``content/<unit identifier>/<name>`` (the manifest's Uri).

    The manifest is validated against the schema before anything is written. Raises
    ExportError (French message) on invalid input, a missing file or a file whose bytes differ
    from its declared SHA-512 or size; ``out`` is then truncated and must be discarded.
    """
    manifest = seda_manifest(units, info)
    errors = validate_seda(manifest)
    if errors:  # a bug here, not the user's input: refuse rather than send an invalid transfer
        raise ExportError("Le bordereau SEDA produit n'est pas valide : " + " ; ".join(errors[:5]))
    _check_on_disk(units)
    with _zip_to(out, info.date) as package:
        package.add_bytes(SEDA_MANIFEST, manifest)
        for unit in units:
            for file in unit.files:
                package.add_file(_seda_uri(unit, file), unit, file)


# --------------------------------------------------------------------------- BagIt


def _unit_metadata(unit: ExportUnit) -> bytes:
    """The unit's ``metadata.json``: what the SEDA ArchiveUnit says, as plain JSON."""
    data: dict[str, Any] = {
        "identifier": unit.identifier,
        "title": _text(unit.title).strip(),
        "description": _text(unit.description).strip(),
        "reference": _token(unit.reference),
        "kind": _token(unit.kind),
        "kind_title": _token(unit.kind_title),
        "organisation": _token(unit.organisation),
        "start_date": unit.start_date.isoformat(),
        "end_date": unit.end_date.isoformat(),
        "deposited_at": unit.deposited_at.astimezone(UTC).isoformat(timespec="seconds"),
        "retention": {
            "years": unit.retention_years,
            "start": unit.retention_start.isoformat() if unit.retention_start else None,
            "final_action": unit.final_action,
            "seda_rule": appraisal_rule(unit.retention_years),
        },
        "supersedes": _token(unit.supersedes) if unit.supersedes is not None else None,
        "files": [
            {
                "name": file.name,
                "role": _token(file.role),
                "mime": file.mime,
                "format_id": file.format_id,
                "size": file.size,
                "sha512": file.sha512.lower(),
            }
            for file in unit.files
        ],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _tag_line(label: str, value: str) -> str:
    # A bag-info value is one line: control characters and newlines become spaces.
    return f"{label}: {' '.join(_text(value).split())}\n"


def write_bagit(units: Sequence[ExportUnit], info: TransferInfo, out: BinaryIO) -> None:
    """Write a BagIt 1.0 bag (SHA-512 manifests) as a ZIP to ``out`` (seekable).

    The ZIP's single top folder, named after ``info.message_identifier``, is the bag:
    ``bagit.txt``, ``bag-info.txt``, ``manifest-sha512.txt``, ``tagmanifest-sha512.txt`` and
    ``data/<unit identifier>/`` holding the unit's files and its ``metadata.json``. Errors as
    for :func:`write_seda`.
    """
    _check(units, info)
    _check_on_disk(units)
    bag = info.message_identifier
    metadata = {unit.identifier: _unit_metadata(unit) for unit in units}
    entries: list[tuple[str, str, int]] = []  # (sha512, payload path, size)
    for unit in units:
        for file in unit.files:
            entries.append((file.sha512.lower(), f"data/{unit.identifier}/{file.name}", file.size))
        meta = metadata[unit.identifier]
        entries.append((hashlib.sha512(meta).hexdigest(), f"data/{unit.identifier}/{BAG_METADATA}", len(meta)))
    tags = {
        "bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": "".join(
            [
                _tag_line("Source-Organization", info.transferring_agency),
                _tag_line("Bagging-Date", info.date.astimezone(PARIS).date().isoformat()),
                _tag_line("External-Identifier", info.message_identifier),
                *([_tag_line("External-Description", info.comment)] if _token(info.comment) else []),
                _tag_line("Payload-Oxum", f"{sum(size for *_, size in entries)}.{len(entries)}"),
                _tag_line("Bag-Count", "1 of 1"),
                _tag_line("Bag-Software-Agent", "webforms (webforms/archive_export.py)"),
            ]
        ).encode("utf-8"),
        "manifest-sha512.txt": "".join(f"{digest}  {path}\n" for digest, path, _ in entries).encode("utf-8"),
    }
    tags["tagmanifest-sha512.txt"] = "".join(
        f"{hashlib.sha512(data).hexdigest()}  {name}\n" for name, data in tags.items()
    ).encode("utf-8")
    with _zip_to(out, info.date) as package:
        for name, data in tags.items():
            package.add_bytes(f"{bag}/{name}", data)
        for unit in units:
            for file in unit.files:
                package.add_file(f"{bag}/data/{unit.identifier}/{file.name}", unit, file)
            package.add_bytes(f"{bag}/data/{unit.identifier}/{BAG_METADATA}", metadata[unit.identifier])
