#!/usr/bin/env bash
# Runs one silo in the foreground against the services named in .phantom/env (or in the environment).
# Start a second silo of the same cluster from another terminal with its own ports:
#   scripts/silo.sh --silo-port=11112 --gateway-port=30001 --http-port=5081
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# The local services' connection strings, for each one the caller has not set itself.
if [[ -f "$ENV_FILE" ]]; then
  while IFS= read -r line; do
    [[ "$line" =~ ^export\ ([A-Za-z_]+)= ]] || continue
    [[ -n "${!BASH_REMATCH[1]:-}" ]] || eval "$line"
  done <"$ENV_FILE"
fi

# Artifacts go to .phantom/artifacts unless an S3 store is configured or the caller names another folder.
args=("--Phantom:Artifacts:Root=$PHANTOM_HOME/artifacts")
for arg in "$@"; do
  case "$arg" in
    --silo-port=*) args+=("--Phantom:Silo:SiloPort=${arg#*=}") ;;
    --gateway-port=*) args+=("--Phantom:Silo:GatewayPort=${arg#*=}") ;;
    --http-port=*) args+=("--Urls=http://127.0.0.1:${arg#*=}") ;;
    *) args+=("$arg") ;;
  esac
done

silo_dir="$REPO_ROOT/src/Silo/bin/Release/net10.0"
[[ -s "$silo_dir/PhantomMl.Silo.dll" ]] || fail "the silo is not built: run scripts/setup.sh"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
cd "$silo_dir"
exec dotnet PhantomMl.Silo.dll "${args[@]}"
