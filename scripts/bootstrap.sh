#!/usr/bin/env bash
# Install everything webforms needs on a fresh Debian machine, then the Python packages in .venv.
#   scripts/bootstrap.sh          runtime only (WeasyPrint's system libraries and fonts)
#   scripts/bootstrap.sh test     plus what the tests need (chromium, poppler-utils, test extras)
#   scripts/bootstrap.sh bench    plus LibreOffice and unoserver for bench/render_bench.py
# Idempotent: a second run installs nothing already present.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-run}"

# libreoffice-writer-nogui: a Word piece of a dossier is converted to PDF at upload (webforms/office.py).
# postgresql: the embedded database (webforms/pgcluster.py runs a private cluster; no system service needed).
debs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation libreoffice-writer-nogui postgresql)
if [ "$profile" = test ] || [ "$profile" = bench ]; then
  debs+=(chromium poppler-utils)
fi
if [ "$profile" = bench ]; then
  # python3-uno only works with Debian's own interpreter (/usr/bin/python3), which needs
  # python3-venv to host unoserver (see the end of this script).
  debs+=(python3-uno python3-venv)
fi
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "Installation des paquets Debian : ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Every Python package, direct or transitive, comes from a lock with its hashes
# (requirements/<profile>.txt, refreshed on purpose by `make lock`): a fresh machine on any
# later day installs exactly what CI ran. The project itself is installed without its
# dependencies, built by the locked setuptools (requirements/build.txt) without isolation.
lock="requirements/$profile.txt"
stamp=".venv/.installed-$profile-$(cat setup.cfg requirements/build.txt "$lock" | sha256sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  pip=(.venv/bin/pip install -q --disable-pip-version-check --require-hashes)
  "${pip[@]}" -r requirements/build.txt
  "${pip[@]}" -r "$lock"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  rm -f .venv/.installed-"$profile"-*
  touch "$stamp"
fi

if [ "$profile" = bench ]; then
  # The unoserver *server* must import `uno`, which Debian's python3-uno provides for
  # /usr/bin/python3 only: .venv's interpreter cannot import it. So the server gets its own
  # venv on Debian's Python, seeing the system packages (uno); .venv keeps the client
  # (unoserver.client.UnoClient, plain XML-RPC) from the [bench] extra.
  unopy=.venv/uno/bin/python
  if ! "$unopy" -c "import uno, unoserver.server" 2>/dev/null; then
    rm -rf .venv/uno
    /usr/bin/python3 -m venv --system-site-packages .venv/uno
    # Only unoserver and what it needs, with the bench lock's hashes.
    grep -A1000 -E '^unoserver==' requirements/bench.txt | awk 'NR>1 && /^[a-z]/{exit} {print}' > .venv/uno-req.txt
    "$unopy" -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r .venv/uno-req.txt
    "$unopy" -c "import uno, unoserver.server"
  fi
fi
