#!/usr/bin/env bash
# Stops the local services and deletes their data (PostgreSQL, Redis, ClickHouse), logs and secrets.
# The downloaded ClickHouse engine is kept unless --all is given. Asks first unless --yes is given.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

keep_tools=true; confirmed=false
for arg in "$@"; do
  case "$arg" in
    --all) keep_tools=false ;;
    --yes) confirmed=true ;;
    *) fail "usage: scripts/wipe.sh [--all] [--yes]" ;;
  esac
done
if ! $confirmed; then
  read -r -p "Delete every local Phantom ML database under $PHANTOM_HOME? [y/N] " answer
  [[ "$answer" == [yY]* ]] || exit 1
fi

"$REPO_ROOT/scripts/services.sh" stop
# PostgreSQL data may live under /var/lib/phantom behind a link (see services.sh).
if [[ -L "$PHANTOM_HOME/postgres" ]]; then
  rm -rf "$(readlink -f "$PHANTOM_HOME/postgres")"
fi
for entry in "$PHANTOM_HOME"/* "$PHANTOM_HOME"/.[!.]*; do
  [[ -e "$entry" || -L "$entry" ]] || continue
  $keep_tools && [[ "$(basename "$entry")" == tools ]] && continue
  rm -rf "$entry"
done
log "wiped $PHANTOM_HOME"
