#!/usr/bin/env bash
# Run a command inside a fresh real-component environment (see realenv.sh), then tear it down.
#
#   scripts/real-tier.sh [COMMAND [ARGS...]]
#
# COMMAND runs with DIR/env exported (ZB_* variables); default: scripts/real-smoke.sh.
# The exit code is COMMAND's (or realenv.sh's, if the environment could not be started).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/zettabee-real.XXXXXX")

child=
cleanup() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  "$HERE/realenv.sh" stop "$DIR" || echo "real-tier: cleanup of $DIR failed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ $# -gt 0 ] || set -- "$HERE/real-smoke.sh"

"$HERE/realenv.sh" start "$DIR"

# run in the background and wait, so INT/TERM are handled at once (bash defers traps
# while a foreground child runs)
(
  set -a
  # shellcheck disable=SC1091
  . "$DIR/env"
  set +a
  # Inside the real environment a test that misses part of it fails instead of skipping.
  export ZB_REAL_REQUIRED=1
  exec "$@"
) <&0 &
child=$!
rc=0
wait "$child" || rc=$?
child=
exit "$rc"
