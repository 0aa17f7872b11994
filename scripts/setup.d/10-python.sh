#!/usr/bin/env bash
# A virtualenv in .venv with mqdrill installed editable, plus the test tools.
set -euo pipefail
cd "$MQDRILL_ROOT"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
