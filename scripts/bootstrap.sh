#!/usr/bin/env bash
# Install everything webforms needs on a fresh Debian machine, then the Python packages in .venv.
#   scripts/bootstrap.sh          runtime only (WeasyPrint's system libraries and fonts)
#   scripts/bootstrap.sh test     plus what the tests need (chromium, poppler-utils, test extras)
# Idempotent: a second run installs nothing already present.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-run}"

debs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation)
if [ "$profile" = test ] || [ "$profile" = bench ]; then
  debs+=(chromium poppler-utils)
fi
if [ "$profile" = bench ]; then
  debs+=(libreoffice-writer-nogui python3-uno)
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
extras=""
case "$profile" in test) extras="[test]";; bench) extras="[test,bench]";; esac
stamp=".venv/.installed-$profile-$(cat setup.cfg | sha256sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".$extras"
  touch "$stamp"
fi
