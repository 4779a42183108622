"""Archive export packages (webforms/archive/export.py): SEDA 2.2 transfer and BagIt bag as ZIPs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import bagit
import pytest
from lxml import etree
from PIL import Image

from webforms.archive.export import (
    PRONOM,
    SEDA_NS,
    WEBFORMS_NS,
    ExportError,
    ExportFile,
    ExportUnit,
    TransferInfo,
    seda_manifest,
    validate_seda,
    write_bagit,
    write_seda,
)

NS = {"s": SEDA_NS, "w": WEBFORMS_NS}
INFO = TransferInfo(
    message_identifier="WEBFORMS-20261122-0001",
    date=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
    comment="Versement des fiches de saisine 2026",
    archival_agency="FRAD075",
    transferring_agency="DEP75-DASES-LOGEMENT",
    archival_agreement="IC-AML-2026",
)
Writer = Callable[..., None]
WRITERS = pytest.mark.parametrize("writer", [write_seda, write_bagit], ids=["seda", "bagit"])


def sha512_of(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def export_file(path: Path, mime: str, role: str, format_id: str | None, name: str | None = None) -> ExportFile:
    return ExportFile(
        path=path,
        name=name or path.name,
        sha512=sha512_of(path),
        size=path.stat().st_size,
        mime=mime,
        role=role,
        format_id=format_id,
    )


def unit(identifier: str, files: tuple[ExportFile, ...], **changes: object) -> ExportUnit:
    base = ExportUnit(
        identifier=identifier,
        title=f"Fiche de saisine FS-2026-{identifier[-2:]} — copie signée",
        description="Copie signée de la fiche de saisine, archivée après signature.",
        reference=f"FS-2026-{identifier[-2:]}",
        kind="fiche_saisine",
        kind_title="Fiche de saisine",
        organisation="Association Habitat Solidaire",
        start_date=date(2026, 3, 2),
        end_date=date(2026, 3, 20),
        deposited_at=datetime(2026, 3, 21, 14, 5, tzinfo=UTC),
        retention_years=10,
        retention_start=date(2026, 3, 20),
        final_action="transfert",
        files=files,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def selection(tmp_path: Path) -> list[ExportUnit]:
    """Three records: a signed PDF with its generated PDF/A, a JPEG scan, and a PNG correction."""
    src = tmp_path / "store"
    src.mkdir()
    image = Image.effect_noise((120, 80), 64).convert("RGB")
    image.save(src / "scan.pdf", "PDF")  # a real PDF (Pillow writes PDF 1.4)
    image.save(src / "generated.pdf", "PDF")
    image.save(src / "scan.jpg", "JPEG", quality=80)  # JFIF 1.01
    image.save(src / "scan.png", "PNG")
    return [
        unit(
            "archive-07",
            (
                export_file(src / "scan.pdf", "application/pdf", "Copie signée", None, "copie-signee.pdf"),
                export_file(
                    src / "generated.pdf", "application/pdf", "Document généré (PDF/A-3b)", PRONOM["PDF/A-3b"], "document.pdf"
                ),
            ),
        ),
        unit(
            "archive-12",
            (export_file(src / "scan.jpg", "image/jpeg", "Copie signée", PRONOM["JPEG (JFIF 1.01)"], "copie-signee.jpg"),),
            retention_start=None,
            final_action="destruction",
        ),
        unit(
            "archive-13",
            (export_file(src / "scan.png", "image/png", "Copie signée", PRONOM["PNG 1.0"], "copie-signee.png"),),
            supersedes="archive-12",
        ),
    ]


def manifest_tree(manifest: bytes) -> etree._Element:
    return etree.fromstring(manifest)


# --------------------------------------------------------------------------- SEDA manifest


def test_manifest_of_a_selection_is_valid_seda_2_2(selection: list[ExportUnit]) -> None:
    manifest = seda_manifest(selection, INFO)
    assert manifest.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert validate_seda(manifest) == []

    root = manifest_tree(manifest)
    assert root.tag == f"{{{SEDA_NS}}}ArchiveTransfer"
    assert root.findtext("s:MessageIdentifier", namespaces=NS) == INFO.message_identifier
    assert root.findtext("s:ArchivalAgreement", namespaces=NS) == "IC-AML-2026"
    groups = root.findall("s:DataObjectPackage/s:DataObjectGroup", NS)
    assert [g.get("id") for g in groups] == ["DOG-archive-07", "DOG-archive-12", "DOG-archive-13"]
    first = groups[0].findall("s:BinaryDataObject", NS)
    assert [o.findtext("s:DataObjectVersion", namespaces=NS) for o in first] == ["BinaryMaster_1", "BinaryMaster_2"]
    assert first[1].findtext("s:FormatIdentification/s:FormatId", namespaces=NS) == "fmt/480"
    assert first[0].find("s:FormatIdentification/s:FormatId", NS) is None  # unknown PUID: left out, not guessed
    assert first[1].findtext("s:OtherMetadata/w:Role", namespaces=NS) == "Document généré (PDF/A-3b)"

    units = root.findall("s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit", NS)
    kept, destroyed, correction = units
    assert kept.findtext("s:Management/s:AppraisalRule/s:Rule", namespaces=NS) == "APP-10A"
    assert kept.findtext("s:Management/s:AppraisalRule/s:StartDate", namespaces=NS) == "2026-03-20"
    assert kept.findtext("s:Management/s:AppraisalRule/s:FinalAction", namespaces=NS) == "Keep"
    assert destroyed.findtext("s:Management/s:AppraisalRule/s:FinalAction", namespaces=NS) == "Destroy"
    assert destroyed.find("s:Management/s:AppraisalRule/s:StartDate", NS) is None  # term not known yet
    content = kept.find("s:Content", NS)
    assert content.findtext("s:OriginatingAgencyArchiveUnitIdentifier", namespaces=NS) == "FS-2026-07"
    assert content.findtext("s:OriginatingAgency/s:Identifier", namespaces=NS) == "Association Habitat Solidaire"
    assert kept.findtext("s:DataObjectReference/s:DataObjectGroupReferenceId", namespaces=NS) == "DOG-archive-07"
    # The correction points to the record it replaces, in the same transfer: an IDREF.
    assert correction.findtext("s:Content/s:RelatedObjectReference/s:Replaces/s:ArchiveUnitRefId", namespaces=NS) == (
        "AU-archive-12"
    )


def test_a_correction_of_a_record_outside_the_transfer_is_an_external_reference(selection: list[ExportUnit]) -> None:
    manifest = seda_manifest([selection[2]], INFO)
    assert validate_seda(manifest) == []
    replaced = manifest_tree(manifest).find(".//s:RelatedObjectReference/s:Replaces", NS)
    assert replaced.findtext("s:ExternalReference", namespaces=NS) == "archive-12"


def test_validate_seda_reports_what_the_schema_forbids(selection: list[ExportUnit]) -> None:
    """The positive test above is not vacuous: invalid manifests are caught."""
    manifest = seda_manifest(selection, INFO)

    root = manifest_tree(manifest)
    root.remove(root.find("s:MessageIdentifier", NS))  # required element
    errors = validate_seda(etree.tostring(root))
    assert errors and "MessageIdentifier" in " ".join(errors) and errors[0].startswith("Ligne ")

    root = manifest_tree(manifest)
    root.find(".//s:FinalAction", NS).text = "Transfer"  # not an appraisal final action
    assert any("FinalAction" in e for e in validate_seda(etree.tostring(root)))

    root = manifest_tree(manifest)
    content = root.find(".//s:Content", NS)
    title = content.find("s:Title", NS)
    content.remove(title)
    content.append(title)  # out of the schema's order
    assert validate_seda(etree.tostring(root))

    root = manifest_tree(manifest)
    root.find(".//s:DataObjectGroupReferenceId", NS).text = "DOG-nowhere"  # dangling IDREF (libxml2 lets it pass)
    [error] = validate_seda(etree.tostring(root))
    assert re.fullmatch(r"Ligne \d+ : DataObjectGroupReferenceId « DOG-nowhere » ne désigne aucun élément du bordereau\.", error)

    assert validate_seda(b"<ArchiveTransfer")[0].startswith("Bordereau XML mal formé")
    assert validate_seda(f'<ArchiveTransferReply xmlns="{SEDA_NS}"/>'.encode())[0].startswith("L'élément racine")


HOSTILE = "<script>alert('x')</script> & \"guillemets\" ]]> \x00\x07\x1b\x0c fin \ud800 \ufffe 😀 🏠"


def test_hostile_text_still_gives_a_valid_manifest_and_bag(selection: list[ExportUnit], tmp_path: Path) -> None:
    hostile = [
        dataclasses.replace(
            u,
            title=HOSTILE,
            description=HOSTILE + "\n\nsuite",
            organisation=HOSTILE,
            reference="FS <1> & ]]>",
            kind_title=HOSTILE,
            supersedes=HOSTILE if u.supersedes else None,
        )
        for u in selection
    ]
    info = dataclasses.replace(INFO, comment=HOSTILE + "\r\nSource-Organization: falsifiée", archival_agreement="IC & <2>")
    manifest = seda_manifest(hostile, info)
    assert validate_seda(manifest) == []
    title = manifest_tree(manifest).findtext(".//s:Content/s:Title", namespaces=NS)
    assert title == "<script>alert('x')</script> & \"guillemets\" ]]>  fin   😀 🏠"  # forbidden characters dropped

    seda_zip = tmp_path / "seda.zip"
    with seda_zip.open("wb") as out:
        write_seda(hostile, info, out)
    bag_zip = tmp_path / "bag.zip"
    with bag_zip.open("wb") as out:
        write_bagit(hostile, info, out)
    bag_dir = extract(bag_zip, tmp_path / "bag")
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    # A comment cannot smuggle a second tag line into bag-info.txt.
    assert bag.info["Source-Organization"] == "DEP75-DASES-LOGEMENT"
    metadata = json.loads((bag_dir / "data/archive-07/metadata.json").read_text("utf-8"))
    assert metadata["title"] == title


# --------------------------------------------------------------------------- SEDA package


def test_seda_zip_holds_the_manifest_and_the_files_it_describes(selection: list[ExportUnit], tmp_path: Path) -> None:
    path = tmp_path / "transfert.zip"
    with path.open("wb") as out:
        write_seda(selection, INFO, out)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names[0] == "manifest.xml"
        manifest = archive.read("manifest.xml")
        assert manifest == seda_manifest(selection, INFO)
        assert validate_seda(manifest) == []
        objects = manifest_tree(manifest).findall(".//s:BinaryDataObject", NS)
        uris = [o.findtext("s:Uri", namespaces=NS) for o in objects]
        assert uris == [
            "content/archive-07/copie-signee.pdf",
            "content/archive-07/document.pdf",
            "content/archive-12/copie-signee.jpg",
            "content/archive-13/copie-signee.png",
        ]
        assert names == ["manifest.xml", *uris]
        sources = [f for u in selection for f in u.files]
        for obj, uri, source in zip(objects, uris, sources, strict=True):
            data = archive.read(uri)
            assert data == source.path.read_bytes()
            digest = obj.find("s:MessageDigest", NS)
            assert digest.get("algorithm") == "SHA-512"
            assert digest.text == hashlib.sha512(data).hexdigest()
            assert obj.findtext("s:Size", namespaces=NS) == str(len(data))
            assert archive.getinfo(uri).compress_type == zipfile.ZIP_STORED


def test_exports_are_deterministic(selection: list[ExportUnit], tmp_path: Path) -> None:
    outputs = []
    for attempt in range(2):
        for u in selection:
            for f in u.files:
                os.utime(f.path, (1_000_000 + attempt, 1_000_000 + attempt))  # file dates do not leak in
        for writer in (write_seda, write_bagit):
            path = tmp_path / f"{writer.__name__}-{attempt}.zip"
            with path.open("wb") as out:
                writer(selection, INFO, out)
            outputs.append(path.read_bytes())
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3]
    with zipfile.ZipFile(tmp_path / "write_seda-0.zip") as archive:
        assert {i.date_time for i in archive.infolist()} == {(2026, 11, 22, 10, 30, 0)}  # Paris time of INFO.date


# --------------------------------------------------------------------------- BagIt


def extract(path: Path, target: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        assert tops == {INFO.message_identifier}  # a single top folder: the bag
        archive.extractall(target)
    return target / INFO.message_identifier


def bagit_cli(bag_dir: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("bagit.py")
    return subprocess.run([sys.executable, str(script), "--validate", str(bag_dir)], capture_output=True, text=True, timeout=60)


def test_bag_validates_with_bagit_library_and_command_line(selection: list[ExportUnit], tmp_path: Path) -> None:
    path = tmp_path / "bag.zip"
    with path.open("wb") as out:
        write_bagit(selection, INFO, out)
    bag_dir = extract(path, tmp_path / "extracted")

    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.algorithms == ["sha512"]
    assert sorted(p.name for p in bag_dir.iterdir()) == [
        "bag-info.txt",
        "bagit.txt",
        "data",
        "manifest-sha512.txt",
        "tagmanifest-sha512.txt",
    ]
    total = sum(p.stat().st_size for p in (bag_dir / "data").rglob("*") if p.is_file())
    assert bag.info == {
        "Source-Organization": "DEP75-DASES-LOGEMENT",
        "Bagging-Date": "2026-11-22",
        "External-Identifier": "WEBFORMS-20261122-0001",
        "External-Description": "Versement des fiches de saisine 2026",
        "Payload-Oxum": f"{total}.7",
        "Bag-Count": "1 of 1",
        "Bag-Software-Agent": "webforms (webforms/archive_export.py)",
    }
    assert set(bag.payload_entries()) == {
        "data/archive-07/copie-signee.pdf",
        "data/archive-07/document.pdf",
        "data/archive-07/metadata.json",
        "data/archive-12/copie-signee.jpg",
        "data/archive-12/metadata.json",
        "data/archive-13/copie-signee.png",
        "data/archive-13/metadata.json",
    }
    tagged = {line.split()[1] for line in (bag_dir / "tagmanifest-sha512.txt").read_text().splitlines()}
    assert tagged == {"bagit.txt", "bag-info.txt", "manifest-sha512.txt"}
    metadata = json.loads((bag_dir / "data/archive-12/metadata.json").read_text("utf-8"))
    assert metadata["reference"] == "FS-2026-12"
    assert metadata["retention"] == {"years": 10, "start": None, "final_action": "destruction", "seda_rule": "APP-10A"}
    assert metadata["files"][0]["sha512"] == selection[1].files[0].sha512
    assert (bag_dir / "data/archive-12/copie-signee.jpg").read_bytes() == selection[1].files[0].path.read_bytes()

    cli = bagit_cli(bag_dir)
    assert cli.returncode == 0, cli.stderr
    assert "is valid" in cli.stderr


def test_a_flipped_byte_in_the_bag_fails_validation(selection: list[ExportUnit], tmp_path: Path) -> None:
    path = tmp_path / "bag.zip"
    with path.open("wb") as out:
        write_bagit(selection, INFO, out)
    bag_dir = extract(path, tmp_path / "extracted")
    payload = bag_dir / "data/archive-07/document.pdf"
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0x01
    payload.write_bytes(bytes(data))

    with pytest.raises(bagit.BagValidationError) as caught:
        bagit.Bag(str(bag_dir)).validate()
    assert "data/archive-07/document.pdf" in str(caught.value)
    cli = bagit_cli(bag_dir)
    assert cli.returncode == 1
    assert "is invalid" in cli.stderr


# --------------------------------------------------------------------------- refusals


@WRITERS
def test_a_file_that_no_longer_matches_its_digest_is_never_exported(
    writer: Writer, selection: list[ExportUnit], tmp_path: Path
) -> None:
    """Same size, one byte changed after archiving: detected while copying, the export stops.

    ``out`` is truncated to where it started (no ZIP left behind); the caller deletes it.
    """
    altered = selection[1].files[0].path
    data = bytearray(altered.read_bytes())
    data[-10] ^= 0xFF
    altered.write_bytes(bytes(data))
    path = tmp_path / "export.zip"
    with path.open("wb") as out, pytest.raises(ExportError) as caught:
        writer(selection, INFO, out)
    message = str(caught.value)
    assert "« copie-signee.jpg »" in message and "« archive-12 »" in message and "SHA-512" in message
    assert path.stat().st_size == 0
    assert not zipfile.is_zipfile(path)


@WRITERS
def test_a_file_whose_size_changed_is_refused_before_writing(
    writer: Writer, selection: list[ExportUnit], tmp_path: Path
) -> None:
    with selection[2].files[0].path.open("ab") as grown:
        grown.write(b"\0")
    path = tmp_path / "export.zip"
    with path.open("wb") as out, pytest.raises(ExportError, match=r"« copie-signee\.png ».*octets"):
        writer(selection, INFO, out)
    assert path.stat().st_size == 0


def test_a_missing_file_is_refused(selection: list[ExportUnit], tmp_path: Path) -> None:
    selection[0].files[1].path.unlink()
    with (tmp_path / "x.zip").open("wb") as out, pytest.raises(ExportError, match=r"« document\.pdf ».*introuvable"):
        write_bagit(selection, INFO, out)


def test_a_file_changed_during_the_copy_leaves_no_zip(selection: list[ExportUnit], tmp_path: Path) -> None:
    """Caught by the copy itself (declared digest wrong, size right): out starts at an offset."""
    bad = dataclasses.replace(selection[2].files[0], sha512="0" * 128)
    units = [*selection[:2], dataclasses.replace(selection[2], files=(bad,))]
    path = tmp_path / "export.bin"
    with path.open("wb") as out:
        out.write(b"header")
        with pytest.raises(ExportError, match=r"copie-signee\.png"):
            write_seda(units, INFO, out)
    assert path.read_bytes() == b"header"


UNSAFE_NAMES = ["../evil.pdf", "/etc/passwd", "a\\b.pdf", "a/b.pdf", "..", ".cache", "", "é.pdf", "a b.pdf", "x.pdf.", "n\x00.pdf", "x" * 129]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
@WRITERS
def test_unsafe_file_names_are_refused(writer: Writer, name: str, selection: list[ExportUnit], tmp_path: Path) -> None:
    units = [dataclasses.replace(selection[0], files=(dataclasses.replace(selection[0].files[0], name=name),))]
    path = tmp_path / "x.zip"
    with path.open("wb") as out, pytest.raises(ExportError, match="refusé"):
        writer(units, INFO, out)
    assert path.stat().st_size == 0


@pytest.mark.parametrize("identifier", UNSAFE_NAMES)
def test_unsafe_unit_identifiers_are_refused(identifier: str, selection: list[ExportUnit]) -> None:
    with pytest.raises(ExportError, match="refusé"):
        seda_manifest([dataclasses.replace(selection[0], identifier=identifier)], INFO)


def test_unsafe_transfer_identifier_is_refused(selection: list[ExportUnit], tmp_path: Path) -> None:
    with (tmp_path / "x.zip").open("wb") as out, pytest.raises(ExportError, match="refusé"):
        write_bagit(selection, dataclasses.replace(INFO, message_identifier="../WEBFORMS"), out)


def test_duplicates_and_reserved_names_are_refused(selection: list[ExportUnit]) -> None:
    first = selection[0]
    with pytest.raises(ExportError, match="deux fois"):
        seda_manifest([first, dataclasses.replace(selection[1], identifier="ARCHIVE-07")], INFO)
    twice = (first.files[0], dataclasses.replace(first.files[1], name="Copie-Signee.PDF"))
    with pytest.raises(ExportError, match="deux fois"):
        seda_manifest([dataclasses.replace(first, files=twice)], INFO)
    reserved = (dataclasses.replace(first.files[0], name="metadata.json"),)
    with pytest.raises(ExportError, match="réservé"):
        seda_manifest([dataclasses.replace(first, files=reserved)], INFO)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"final_action": "Keep"}, "sort final"),
        ({"retention_years": -1}, "durée de conservation"),
        ({"end_date": date(2026, 3, 1)}, "inversées"),
        ({"deposited_at": datetime(2026, 3, 21, 14, 5)}, "fuseau"),
        ({"title": " \x00 "}, "titre"),
        ({"supersedes": "archive-07"}, "elle-même"),
    ],
)
def test_invalid_metadata_is_refused(changes: dict[str, object], message: str, selection: list[ExportUnit]) -> None:
    with pytest.raises(ExportError, match=message):
        seda_manifest([dataclasses.replace(selection[0], **changes)], INFO)


def test_invalid_file_metadata_is_refused(selection: list[ExportUnit]) -> None:
    good = selection[0].files[0]
    for changes, message in (
        ({"sha512": "abc"}, "SHA-512"),
        ({"size": 0}, "taille"),
        ({"mime": "pdf"}, "MIME"),
        ({"format_id": "PDF/A-3b"}, "PRONOM"),
    ):
        bad = dataclasses.replace(good, **changes)
        with pytest.raises(ExportError, match=message):
            seda_manifest([dataclasses.replace(selection[0], files=(bad,))], INFO)


# --------------------------------------------------------------------------- streaming


@WRITERS
def test_export_streams_files_instead_of_loading_them(writer: Writer, tmp_path: Path) -> None:
    """120 MB of files go through with Python allocations peaking far below one file's size."""
    size = 40 * 1024 * 1024
    files = []
    for i in range(3):
        path = tmp_path / f"big-{i}.pdf"
        with path.open("wb") as out:
            out.write(b"%PDF-1.7\n" + os.urandom(4096))
            out.truncate(size)  # the rest is a hole of zeros: instant to create, 40 MB to read
        files.append(export_file(path, "application/pdf", "Copie signée", PRONOM["PDF 1.7"]))
    units = [unit(f"archive-{10 + i}", (f,)) for i, f in enumerate(files)]
    target = tmp_path / "export.zip"

    tracemalloc.start()
    try:
        with target.open("wb") as out:
            writer(units, INFO, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"pic des allocations Python : {peak / 2**20:.1f} Mio"
    assert target.stat().st_size > 3 * size
    with zipfile.ZipFile(target) as archive:
        big = [i for i in archive.infolist() if i.filename.endswith(".pdf")]
        assert [i.file_size for i in big] == [size] * 3
