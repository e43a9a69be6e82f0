#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian 12 machine, idempotently:
# PostgreSQL 15 and Redis 7 from Debian, chDB's libchdb.so from npm, and the .NET build
# (platform: the silo and the ClickHouse sidecar; all: the whole solution, tests included).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

install_debian_packages() {
  local missing=()
  [[ -x "$PG_BIN/postgres" ]] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v curl >/dev/null || missing+=(curl)
  # The dashboard's browser tests drive Debian's Chromium headless (never a browser downloaded by a test tool).
  if [[ "${1:-all}" == all ]] && ! command -v chromium >/dev/null; then missing+=(chromium); fi
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

# build NAME PROJECT...: builds in Release unless no source changed since the last build of NAME,
# which keeps a second start of the platform fast (an up-to-date dotnet build still costs ~20 s).
# moto, the S3 server the tests run the Minio SDK against (no MinIO server is packaged for Debian).
# Debian trixie's python3-moto with its dependencies, unpacked into .phantom/tools/moto with a private
# apt configuration, so the system's package sources and Python are left untouched.
install_moto() {
  local root="$TOOLS_DIR/moto"
  [[ -f "$root/.complete" ]] && return 0
  log "fetching moto (S3 test server) from Debian trixie and bookworm"
  local apt_dir="$TOOLS_DIR/moto-apt"
  rm -rf "$root" "$apt_dir"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$root"
  cat >"$apt_dir/sources.list" <<LIST
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
LIST
  local apt_options=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
  apt-get "${apt_options[@]}" update -qq
  (cd "$apt_dir/debs" && apt-get "${apt_options[@]}" download -qq \
    python3-moto/trixie python3-boto3/trixie python3-botocore/trixie python3-s3transfer/trixie \
    python3-flask/bookworm python3-flask-cors/bookworm python3-werkzeug/bookworm python3-jinja2/bookworm python3-markupsafe/bookworm \
    python3-itsdangerous/bookworm python3-click/bookworm python3-blinker/bookworm python3-responses/bookworm python3-requests/bookworm \
    python3-urllib3/bookworm python3-idna/bookworm python3-certifi/bookworm python3-charset-normalizer/bookworm python3-chardet/bookworm \
    python3-xmltodict/bookworm python3-jmespath/bookworm python3-dateutil/bookworm python3-six/bookworm python3-yaml/bookworm \
    python3-cryptography/bookworm python3-cffi-backend/bookworm)
  for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$root"; done
  rm -rf "$apt_dir"
  touch "$root/.complete"
}

# The third-party MLflow client the MLflow API's tests drive (npm 'mlflow', pinned by tests/mlflow-client's lockfile).
install_mlflow_client() {
  local dir="$REPO_ROOT/tests/mlflow-client"
  [[ -f "$dir/node_modules/.package-lock.json" && "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]] && return 0
  command -v npm >/dev/null || fail "npm is needed to install the MLflow client the tests drive"
  log "installing the npm MLflow client for the tests (tests/mlflow-client)"
  (cd "$dir" && npm ci --no-audit --no-fund --silent) || fail "npm ci in tests/mlflow-client failed"
}

build() {
  local name=$1; shift
  local stamp="$PHANTOM_HOME/build/$name.stamp"
  if [[ -f "$stamp" ]] && [[ -z "$(find "$REPO_ROOT/src" "$REPO_ROOT/tools" "$REPO_ROOT/tests" "$REPO_ROOT/bench" \
        "$REPO_ROOT"/*.props "$REPO_ROOT"/*.sln "$REPO_ROOT"/global.json "$REPO_ROOT"/NuGet.config \
        \( -name bin -o -name obj -o -name node_modules -o -name dist \) -prune -o -type f -newer "$stamp" -print -quit 2>/dev/null)" ]]; then
    return 0
  fi
  mkdir -p "$PHANTOM_HOME/build"
  touch "$stamp.new"
  for project in "$@"; do
    log "building $(basename "$project") (Release)"
    if ! dotnet build "$project" -c Release -nologo -v quiet >"$LOG_DIR/build.log" 2>&1; then
      cat "$LOG_DIR/build.log" >&2
      fail "build of $(basename "$project") failed (log: $LOG_DIR/build.log)"
    fi
  done
  mv "$stamp.new" "$stamp"
}

install_debian_packages "${1:-all}"
install_chdb
install_moto
case "${1:-all}" in
  platform) build platform "$REPO_ROOT/src/Silo/PhantomMl.Silo.csproj" "$REPO_ROOT/tools/ClickHouseSidecar/PhantomMl.ClickHouseSidecar.csproj" ;;
  all) install_mlflow_client; build all "$REPO_ROOT/PhantomMl.sln" ;;
  none) ;;
  *) fail "usage: scripts/setup.sh [platform|all|none]" ;;
esac
