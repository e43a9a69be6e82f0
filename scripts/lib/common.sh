# Shared settings of the project's scripts. Sourced, never run.
# Every address and port can be overridden from the environment; data lives under $PHANTOM_HOME.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PHANTOM_HOME="${PHANTOM_HOME:-$REPO_ROOT/.phantom}"
mkdir -p "$PHANTOM_HOME"
PHANTOM_HOME="$(cd "$PHANTOM_HOME" && pwd)"

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${PHANTOM_PG_PORT:-55432}"
REDIS_PORT="${PHANTOM_REDIS_PORT:-56379}"
CLICKHOUSE_PORT="${PHANTOM_CLICKHOUSE_PORT:-58123}"
CHDB_PACKAGE="@chdb/lib-linux-x64-gnu@26.7.3-stable.1"

RUN_DIR="$PHANTOM_HOME/run"
LOG_DIR="$PHANTOM_HOME/logs"
SECRETS_DIR="$PHANTOM_HOME/secrets"
TOOLS_DIR="$PHANTOM_HOME/tools"
ENV_FILE="$PHANTOM_HOME/env"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$SECRETS_DIR" "$TOOLS_DIR"
chmod 700 "$SECRETS_DIR"

SIDECAR_DLL="$REPO_ROOT/tools/ClickHouseSidecar/bin/Release/net10.0/PhantomMl.ClickHouseSidecar.dll"

log() { printf '\033[1;34m[phantom]\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[1;31m[phantom] %s\033[0m\n' "$*" >&2; exit 1; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      fail "$what was not ready after ${timeout}s"
    fi
    sleep 0.2
  done
}

# A secret generated once and kept under .phantom/secrets.
secret() {
  local file="$SECRETS_DIR/$1"
  if [[ ! -s "$file" ]]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$file")
  fi
  cat "$file"
}


# wait_until_ready URL SECONDS PID: waits for URL/health/ready to answer 200 while PID lives.
wait_until_ready() {
  local url=$1 timeout=$2 pid=$3
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if curl -sf -o /dev/null "$url/health/ready"; then return 0; fi
    sleep 0.5
  done
  log "the silo did not report ready within ${timeout}s; see $url/health/ready"
  return 1
}

# libpq_conninfo NPGSQL_CONNECTION_STRING: the same server, database and credentials in psql's key=value form.
libpq_conninfo() {
  tr ';' '\n' <<<"$1" |
    sed -E 's/^Host=/host=/I; s/^Port=/port=/I; s/^Database=/dbname=/I; s/^Username=/user=/I; s/^Password=/password=/I' | tr '\n' ' '
}
