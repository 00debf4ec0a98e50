#!/usr/bin/env bash
# Idempotent set-up: npm toolchain (Anvil, cast, solc-js, OpenZeppelin) from the lock file,
# a pinned Python venv in .venv, and a `solc` command that py-solc-x / ape-solidity accept.
# Each step is skipped when its stamp is newer than the files it depends on.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-python3.11}"
SOLC_VERSION="$(node -p "require('./package.json').dependencies.solc" 2>/dev/null || true)"

die() { echo "setup: $*" >&2; exit 1; }
command -v "$PYTHON" >/dev/null 2>&1 || die "Python 3.11 is missing: install it so that '$PYTHON' is on PATH (or set PYTHON=...)"
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null || die "'$PYTHON' is not Python 3.11"
command -v node >/dev/null 2>&1 || die "Node.js is missing: install Node 20 (node and npm on PATH)"
command -v npm >/dev/null 2>&1 || die "npm is missing: install Node 20 with npm"
node -e 'process.exit(parseInt(process.versions.node) >= 18 ? 0 : 1)' || die "Node $(node --version) is too old: need Node 20"
[ -n "$SOLC_VERSION" ] || die "package.json names no solc version"

stale() { # stale STAMP DEP... : true when STAMP is missing or older than any DEP
  local stamp="$1"; shift
  [ -f "$stamp" ] || return 0
  for dep in "$@"; do [ "$dep" -nt "$stamp" ] && return 0; done
  return 1
}

if stale node_modules/.perpkit-stamp package.json package-lock.json; then
  echo "setup: npm install from package-lock.json (Anvil, cast, solc $SOLC_VERSION, OpenZeppelin)"
  # `npm ci` refuses this lock (it omits the other platforms' optional binaries that the
  # registry mirror does not list), so install from the lock; install scripts are not
  # needed: the platform packages carry the binaries.
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
  touch node_modules/.perpkit-stamp
fi

if stale .venv/.perpkit-stamp requirements.lock pyproject.toml; then
  echo "setup: Python venv in .venv (pinned by requirements.lock)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  touch .venv/.perpkit-stamp
fi

# py-solc-x finds compilers named solc-v<version> in $SOLCX_BINARY_PATH.
mkdir -p .solcx
SOLC_EXE=".solcx/solc-v$SOLC_VERSION"
printf '#!/bin/sh\nexec node "%s/tools/solc.js" "$@"\n' "$ROOT" > "$SOLC_EXE.tmp"
chmod +x "$SOLC_EXE.tmp" && mv "$SOLC_EXE.tmp" "$SOLC_EXE"

# Every interpreter of the venv (ape, pytest, scripts) sees the compiler and Anvil
# without the user exporting anything.
SITE="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cat > "$SITE/_perpkit_env.pth" <<PTH
import os; os.environ.setdefault("SOLCX_BINARY_PATH", "$ROOT/.solcx"); os.environ["PATH"] = "$ROOT/tools/bin" + os.pathsep + "$ROOT/node_modules/.bin" + os.pathsep + os.environ.get("PATH", "") if "$ROOT/tools/bin" not in os.environ.get("PATH", "") else os.environ["PATH"]
PTH
