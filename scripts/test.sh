#!/usr/bin/env bash
# The README's second command: installs what is missing, starts the real services, builds, and runs
# every test against them. Exits non-zero on any failure, and when no test ran at all.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

"$REPO_ROOT/scripts/setup.sh" all

# Services this run starts are stopped again at the end; ones already running are left as they were.
started=()
for part in postgres redis clickhouse s3; do
  "$REPO_ROOT/scripts/services.sh" status "$part" >/dev/null 2>&1 || started+=("$part")
done
stop_started() { ((${#started[@]})) && "$REPO_ROOT/scripts/services.sh" stop "${started[@]}" || true; }
trap stop_started EXIT
"$REPO_ROOT/scripts/services.sh" start postgres redis clickhouse s3
# shellcheck disable=SC1090
source "$ENV_FILE"

results="$PHANTOM_HOME/test-results"
rm -rf "$results"
# The dashboard tests' screenshots are kept with the results, as artifacts of the run.
export PHANTOM_SCREENSHOTS="$results/screenshots"
code=0
# The xunit v3 test project is its own runner: running it directly, instead of under `dotnet test`, leaves out the
# VSTest adapter, whose crash detection can drop the last test's result when that test ran over a minute on its own
# (it then reports "Test process crashed with exit code 0" although every test passed). Arguments are the runner's
# own filters, e.g. `scripts/test.sh -class PhantomMl.Tests.Models.ModelRegistryTests` or `-method '*Revocation*'`.
mkdir -p "$results"
"$REPO_ROOT/tests/PhantomMl.Tests/bin/Release/net10.0/PhantomMl.Tests" -noLogo -noColor -reporter verbose \
  -trx "$results/PhantomMl.Tests.trx" "$@" || code=$?

# One closing line in the plain 'N passed, N failed' form, summed over every test assembly's TRX (a skipped test is
# neither passed nor failed).
read -r passed failed skipped < <(
  cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' |
    sed -E 's/.* total="([0-9]+)".* passed="([0-9]+)" failed="([0-9]+)".*/\1 \2 \3/' |
    awk '{t += $1; p += $2; f += $3} END {print p+0, f+0, t-p-f}'
)
# CI keeps only the tail of the output, where the verbose reporter's failure text is long gone: name each failed test
# again here, with the start of its message, so the last lines say what broke.
if ((failed > 0)); then
  /usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
for trx in glob.glob(sys.argv[1] + "/*.trx"):
    for result in ET.parse(trx).getroot().iter(ns + "UnitTestResult"):
        if result.get("outcome") != "Failed":
            continue
        message = result.findtext(f"{ns}Output/{ns}ErrorInfo/{ns}Message") or ""
        stack = result.findtext(f"{ns}Output/{ns}ErrorInfo/{ns}StackTrace") or ""
        print(f"FAILED {result.get('testName')} ({result.get('duration')})")
        for line in (message.strip().splitlines()[:12] + stack.strip().splitlines()[:8]):
            print("    " + line[:300])
PY
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if ((code == 0 && passed == 0)); then
  log "no test ran"
  code=1
fi
exit $code
