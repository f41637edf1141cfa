# Sourced by scripts/demo and scripts/test: installs what is missing, idempotently.
#  - redis-server (Debian/Ubuntu package `redis-server`; on macOS: `brew install redis`)
#  - a virtualenv in .venv with this package and its test extras
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v redis-server >/dev/null 2>&1 && [ -z "${REDISCLUSTER_LITE_REDIS_SERVER:-}" ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        echo "==> installing redis-server (apt-get)"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
    else
        echo "redis-server is missing: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)" >&2
        exit 1
    fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi
STAMP=.venv/.installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    echo "==> installing rediscluster_lite and its test extras into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[test,bench]"
    touch "$STAMP"
fi
VENV_PY="$ROOT/.venv/bin/python"
export VENV_PY
