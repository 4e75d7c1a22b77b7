#!/usr/bin/env bash
# The code-health gate, the same one .ci/run applies: formatting, lint and types.
# Run it before committing: scripts/check.sh   (scripts/check.sh --fix formats and applies safe fixes first)
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$root"
paths=(src tests bench scripts)
if [ "${1-}" = "--fix" ]; then
  "$venv/bin/ruff" format "${paths[@]}"
  "$venv/bin/ruff" check --fix "${paths[@]}" || true
fi
status=0
echo "== ruff format --check"
"$venv/bin/ruff" format --check "${paths[@]}" || status=1
echo "== ruff check"
"$venv/bin/ruff" check "${paths[@]}" || status=1
echo "== mypy (src/)"
"$venv/bin/mypy" || status=1
if [ "$status" -ne 0 ]; then
  echo "code-health gate: FAILED (see above; scripts/check.sh --fix handles formatting)" >&2
else
  echo "code-health gate: passed"
fi
exit "$status"
