#!/usr/bin/env bash
# Runs the main job in the project's own virtual environment: the API server on the
# embedded SQLite database (./data), with demo data. Arguments go to `unisupport serve`.
UNISUPPORT_EXTRAS="${UNISUPPORT_EXTRAS-}"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$root"
exec "$venv/bin/unisupport" serve "$@"
