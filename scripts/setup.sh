#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian 12 machine, idempotently:
# PostgreSQL 15 and Redis 7 from Debian, chDB's libchdb.so from npm, and the .NET build.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

install_debian_packages() {
  local missing=()
  [[ -x "$PG_BIN/postgres" ]] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v curl >/dev/null || missing+=(curl)
  ((${#missing[@]} == 0)) && return 0
  log "installing from Debian: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts its own cluster and server on install; the project runs private ones instead.
  service postgresql stop >/dev/null 2>&1 || true
  service redis-server stop >/dev/null 2>&1 || true
}

install_chdb() {
  local lib="$TOOLS_DIR/chdb/libchdb.so"
  [[ -s "$lib" ]] && return 0
  command -v npm >/dev/null || fail "npm is needed to fetch chDB ($CHDB_PACKAGE)"
  log "fetching ClickHouse engine ($CHDB_PACKAGE, ~180 MB) from npm"
  local work
  work="$(mktemp -d "$TOOLS_DIR/chdb-download.XXXXXX")"
  (cd "$work" && npm pack --silent "$CHDB_PACKAGE" >/dev/null && tar -xzf ./*.tgz package/libchdb.so)
  mkdir -p "$TOOLS_DIR/chdb"
  mv "$work/package/libchdb.so" "$lib"
  rm -rf "$work"
}

build() {
  log "building (Release)"
  dotnet build "$REPO_ROOT/PhantomMl.sln" -c Release -nologo -v quiet -clp:ErrorsOnly
}

install_debian_packages
install_chdb
if [[ "${1:-}" != "--no-build" ]]; then
  build
fi
