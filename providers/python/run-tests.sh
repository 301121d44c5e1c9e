#!/usr/bin/env bash
# Runs the Python provider's tests in providers/python/.venv (created on first use).
# Extra arguments go to pytest, e.g. ./run-tests.sh -k watch -v
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest "$@"
