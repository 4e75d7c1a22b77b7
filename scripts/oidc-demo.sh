#!/usr/bin/env bash
# The demo with single sign-on: starts the local OpenID provider (npm's oidc-provider,
# tests/oidc/provider.mjs, run by Debian's nodejs) with two demo accounts, then the demo
# server configured to sign Contoso's users in through it. Arguments go to
# `unisupport serve` (--port N: the app's port, 8000 by default). The provider listens
# on 127.0.0.1:${UNISUPPORT_OIDC_DEMO_PORT:-8800}; both stop with Ctrl-C.
#   Needs: apt-get install nodejs npm (the provider's packages are installed on first run).
#   UNISUPPORT_DEMO_PYTHON=/path/to/python: use that environment instead of .venv (the tests do).
set -euo pipefail
if [ -n "${UNISUPPORT_DEMO_PYTHON:-}" ]; then
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  python="$UNISUPPORT_DEMO_PYTHON"
else
  UNISUPPORT_EXTRAS="${UNISUPPORT_EXTRAS-}"
  source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
  python="$venv/bin/python"
fi
cd "$root"

app_port=8000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[i]}" = "--port" ] && [ $((i + 1)) -lt ${#args[@]} ]; then app_port="${args[i + 1]}"; fi
done
provider_port="${UNISUPPORT_OIDC_DEMO_PORT:-8800}"
node="$(command -v node || command -v nodejs || true)"
if [ -z "$node" ] || ! command -v npm >/dev/null; then
  echo "node and npm are needed for the local OpenID provider: apt-get install nodejs npm" >&2
  exit 1
fi
if [ ! -d tests/oidc/node_modules/oidc-provider ]; then
  echo "installing the OpenID provider's packages (npm ci --prefix tests/oidc)…" >&2
  npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error >&2
fi

folder="${UNISUPPORT_DATA_DIR:-data}/oidc-demo"
secret="$("$python" -m unisupport.demo.sso "$folder" "$provider_port" "$app_port")"
"$node" tests/oidc/provider.mjs "$folder/provider.json" > "$folder/provider.log" 2>&1 &
provider=$!
trap 'kill "$provider" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do  # until it answers its discovery document (at most 10 s)
  if "$python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://127.0.0.1:$provider_port/.well-known/openid-configuration" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$provider" 2>/dev/null; then cat "$folder/provider.log" >&2; exit 1; fi
  sleep 0.1
done
echo "OpenID provider on http://127.0.0.1:$provider_port · accounts jonas.becker@contoso.example (a contact)" \
  "and visitor@contoso.example (not one), password demo-password-2026"
export UNISUPPORT_IDENTITY_PROVIDERS="$folder/identity-providers.yaml"
export UNISUPPORT_SSO_DEMO_SECRET="$secret"
"$python" -m unisupport.cli.main serve "$@"
