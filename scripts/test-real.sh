#!/usr/bin/env bash
# The real-component end-to-end tier: builds zettabee and its tests, then runs the RealTier tests
# inside a fresh real environment (zfs-fuse pools, sshd, mbuffer, nsca; see realenv.sh).
#
#   scripts/test-real.sh [EXTRA swift test ARGUMENTS...]
#
# Needs root and /dev/fuse. Exit code: swift test's (or realenv.sh's when the environment
# could not be started), or 1 when the tier ran no test or skipped one.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
swift build --build-tests
# The RealTier tests, and the fake tools' comparisons with the real zfs-fuse, mbuffer and send_nsca
# (which skip in plain `swift test` on a machine without them).
log=$(mktemp "${TMPDIR:-/tmp}/zettabee-real-tier.XXXXXX")
trap 'rm -f "$log"' EXIT
rc=0
scripts/real-tier.sh swift test --skip-build --filter 'RealTier|RealComparison|MatchesReal' "$@" 2>&1 | tee "$log" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
# No silent pass: the tier must have run tests, and skipped none.
summary=$(grep -E 'Executed [0-9]+ tests?, with' "$log" | tail -n 1)
case $summary in
  *"Executed 0 tests"*|"") echo "test-real: FAILED: the real-component tier ran no test ($summary)" >&2; exit 1 ;;
  *skipped*) echo "test-real: FAILED: the real-component tier skipped tests: $summary" >&2; exit 1 ;;
esac
echo "test-real: $summary"
