#!/usr/bin/env bash
# The real-component end-to-end tier: builds zettabee and its tests, then runs the RealTier tests
# inside a fresh real environment (zfs-fuse pools, sshd, mbuffer, nsca; see realenv.sh).
#
#   scripts/test-real.sh [EXTRA swift test ARGUMENTS...]
#
# Needs root and /dev/fuse. Exit code: swift test's (or realenv.sh's when the environment
# could not be started).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
swift build --build-tests
# The RealTier tests, and the fake tools' comparisons with the real zfs-fuse, mbuffer and send_nsca
# (which skip in plain `swift test` on a machine without them).
exec scripts/real-tier.sh swift test --skip-build --filter 'RealTier|RealComparison|MatchesReal' "$@"
