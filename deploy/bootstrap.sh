#!/usr/bin/env bash
# Prepares a bare Debian machine for LandSync: the system packages it needs (only those missing),
# then the project's virtualenv. PostgreSQL is installed by `landsync up` itself when missing.
set -euo pipefail
python="${1:-python3}"
venv="${2:-.venv}"

missing=()
command -v "$python" >/dev/null 2>&1 && "$python" -c 'import venv, ensurepip' >/dev/null 2>&1 \
  || missing+=(python3 python3-venv python3-pip)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
# Headless Chromium for the report page's browser test and `landsync report --screenshot`; the
# DejaVu fonts carry Vietnamese diacritics.
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
# Prometheus and promtool for the monitoring tests: a real Prometheus scrapes the test stack and
# evaluates every dashboard query; promtool checks and unit-tests the alerting rules.
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another bootstrap (a second checkout's, a test run's) may hold dpkg's lock: wait for it.
  wait_lock=(-o DPkg::Lock::Timeout=900)
  apt-get "${wait_lock[@]}" update -qq
  apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "LandSync needs Python >= 3.11")'
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
