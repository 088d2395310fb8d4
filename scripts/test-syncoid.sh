#!/usr/bin/env bash
# The third-party client tier: syncoid (Debian package sanoid), unmodified, against the fake tools.
# Installs sanoid with apt-get where syncoid is missing (as root), puts fixtures/fakebin first on PATH
# with a fresh ZFAKE_WORLD, and runs the SyncoidTier tests (each case makes its own world as well).
#
#   scripts/test-syncoid.sh [EXTRA swift test ARGUMENTS...]
#
# Exit code: non-zero when syncoid cannot be installed (unless ZB_SYNCOID_OPTIONAL=1, when the tier
# is reported as not run and the script exits 0), when a test fails, when the tier ran no test, or
# when it skipped one.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/sbin:/usr/sbin:/sbin:$PATH"

not_run() {
  echo "" >&2
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  echo "!!! test-syncoid: THE SYNCOID TIER DID NOT RUN: $1" >&2
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  if [ "${ZB_SYNCOID_OPTIONAL:-0}" = 1 ]; then exit 0; fi
  exit 1
}

if ! command -v syncoid >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then not_run "syncoid is not installed and installing sanoid needs root"; fi
  if ! command -v apt-get >/dev/null 2>&1; then not_run "syncoid is not installed and there is no apt-get"; fi
  echo "== test-syncoid: installing sanoid (syncoid) with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y sanoid >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y sanoid >/dev/null 2>&1 || not_run "apt-get install sanoid failed"
  fi
  command -v syncoid >/dev/null 2>&1 || not_run "sanoid is installed but syncoid is not on PATH"
fi
echo "== test-syncoid: $(command -v syncoid) ($(dpkg-query -W -f='sanoid ${Version}' sanoid 2>/dev/null || echo 'version unknown'))"

swift build --build-tests
export PATH="$PWD/fixtures/fakebin:$PATH"
ZFAKE_WORLD=$(mktemp -d "${TMPDIR:-/tmp}/zfake-syncoid-world.XXXXXX")
export ZFAKE_WORLD ZB_SYNCOID_REQUIRED=1
log=$(mktemp "${TMPDIR:-/tmp}/zettabee-syncoid-tier.XXXXXX")
trap 'rm -f "$log"; rm -rf "$ZFAKE_WORLD"' EXIT
rc=0
swift test --skip-build --filter 'SyncoidTier' "$@" 2>&1 | tee "$log" || rc=$?
[ "$rc" -eq 0 ] || { echo "test-syncoid: FAILED (swift test exit $rc)" >&2; exit "$rc"; }
# No silent pass: the tier must have run tests, and skipped none.
summary=$(grep -E 'Executed [0-9]+ tests?, with' "$log" | tail -n 1)
case $summary in
  *"Executed 0 tests"*|"") echo "test-syncoid: FAILED: the syncoid tier ran no test ($summary)" >&2; exit 1 ;;
  *skipped*) echo "test-syncoid: FAILED: the syncoid tier skipped tests: $summary" >&2; exit 1 ;;
esac
echo "test-syncoid: $summary"
