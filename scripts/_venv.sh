# Sourced by scripts/run.sh and scripts/test.sh: creates .venv on first use and
# (re)installs the project whenever pyproject.toml changes. Needs only python3 >= 3.11.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extras="${UNISUPPORT_EXTRAS-test}"  # run.sh asks for none
py="${PYTHON:-python3}"

if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "unisupport needs Python 3.11 or newer as '$py' (set PYTHON=/path/to/python3.11)." >&2
  exit 2
fi

stamp="$venv/.installed-$("$py" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()[:16])' "$root/pyproject.toml")-$extras"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating .venv and installing dependencies (first run, about a minute)…" >&2
  if ! "$py" -m venv "$venv" 2>/dev/null; then
    # Debian ships venv without ensurepip unless python3-venv is installed:
    # make a pip-less venv and bootstrap pip from its wheel on PyPI.
    rm -rf "$venv"
    "$py" -m venv --without-pip "$venv"
    "$venv/bin/python" "$root/scripts/bootstrap_pip.py"
  fi
elif [ ! -f "$stamp" ]; then
  echo "pyproject.toml changed: installing dependencies into .venv…" >&2
fi
if [ ! -f "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  target="$root"
  [ -n "$extras" ] && target="$root[$extras]"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$target"
  touch "$stamp"
fi
