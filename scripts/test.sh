#!/usr/bin/env bash
# Runs the whole test suite in the project's own virtual environment.
# Extra arguments go to pytest, e.g. scripts/test.sh -k calendar -x
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$root"
set +e
"$venv/bin/python" -m pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here." >&2
  exit 1
fi
exit "$code"
