"""The locks under requirements/ agree with setup.cfg (run `make lock` when this fails)."""

import configparser
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {"run": (), "test": ("test",), "bench": ("test", "bench")}


def declared(extras: tuple[str, ...]) -> dict[str, Requirement]:
    """The direct requirements setup.cfg declares for the base install plus these extras."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    blocks = [cfg["options"]["install_requires"]]
    blocks += [cfg["options.extras_require"][e] for e in extras]
    reqs = {}
    for block in blocks:
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                req = Requirement(line)
                reqs[canonicalize_name(req.name)] = req
    return reqs


def locked(path: Path) -> tuple[dict[str, str], set[str], set[str]]:
    """(name → version, names required by setup.cfg, names without a hash) read from a lock."""
    versions: dict[str, str] = {}
    direct: set[str] = set()
    hashed: set[str] = set()
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        pin = re.match(r"^([A-Za-z0-9_.\-]+)==([^ \\]+)", line)
        if pin:
            current = canonicalize_name(pin.group(1))
            versions[current] = pin.group(2)
        elif current and "--hash=sha256:" in line:
            hashed.add(current)
        elif current and re.search(r"#\s+(via\s+)?webforms \(setup\.cfg\)|via -r ", line):
            direct.add(current)
    return versions, direct, set(versions) - hashed


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_lock_matches_setup_cfg(profile):
    versions, direct, unhashed = locked(ROOT / "requirements" / f"{profile}.txt")
    wanted = declared(PROFILES[profile])
    assert direct == set(wanted), "setup.cfg et le verrou diffèrent : lancez make lock"
    for name, req in wanted.items():
        assert req.specifier.contains(versions[name], prereleases=True), (name, versions[name])
    assert not unhashed


def test_build_lock_matches_its_input():
    versions, direct, unhashed = locked(ROOT / "requirements" / "build.txt")
    wanted = {}
    for line in (ROOT / "requirements" / "build.in").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            wanted[canonicalize_name(Requirement(line).name)] = Requirement(line)
    assert direct == set(wanted)
    for name, req in wanted.items():
        assert req.specifier.contains(versions[name], prereleases=True)
    assert not unhashed


def test_lock_reader_sees_a_disagreement(tmp_path):
    # The check above must be able to fail: a lock pinning another version, or missing a
    # direct dependency, is told apart from the real one.
    text = (ROOT / "requirements" / "run.txt").read_text(encoding="utf-8")
    forged = tmp_path / "run.txt"
    forged.write_text(text.replace("flask==3.1.3", "flask==3.1.2"), encoding="utf-8")
    versions, _, _ = locked(forged)
    assert not declared(())["flask"].specifier.contains(versions["flask"])
    dropped = re.sub(r"(?m)^flask-login==.*\n(    .*\n)*", "", text)
    forged.write_text(dropped, encoding="utf-8")
    assert locked(forged)[1] != set(declared(()))
