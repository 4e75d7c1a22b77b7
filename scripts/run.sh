#!/usr/bin/env bash
# Runs the main job in the project's own virtual environment.
# Today: the SLA demo (the catalog and a few explained first-response targets).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$root"
exec "$venv/bin/unisupport" demo "$@"
