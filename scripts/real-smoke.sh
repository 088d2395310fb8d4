#!/usr/bin/env bash
# Smoke test of a real-component environment: run via scripts/real-tier.sh, or after
# `scripts/realenv.sh start DIR` with DIR/env sourced.
# Proves: ssh + zfs send/receive, mbuffer on loopback, send_nsca -> nsca command file.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=realenv-lib.sh
. "$HERE/realenv-lib.sh"

: "${ZB_REAL_DIR:?source DIR/env first (or run scripts/real-tier.sh)}"
SRC=$ZB_SRC_POOL
DST=$ZB_DST_POOL
SSH=(ssh -F "$ZB_SSH_CONFIG")
T="$ZB_REAL_DIR/smoke"
mkdir -p "$T"
passed=0
failed=0

check() { # NAME CMD...: run CMD (bounded by its own timeouts), count the result
  local name=$1; shift
  local start rc=0
  start=$(now_ms)
  # run in a background subshell so that errexit applies inside the test function
  ( set -e; "$@" ) >"$T/$name.out" 2>&1 &
  wait $! || rc=$?
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "PASS $name ($(( $(now_ms) - start )) ms)"
  else
    failed=$((failed + 1)); echo "FAIL $name (rc $rc)"; sed 's/^/    /' "$T/$name.out"
  fi
}

guid() { zfs get -Hp -o value guid "$1"; }

same_guid() { # A B
  local a b
  a=$(guid "$1") && b=$(guid "$2") || return 1
  [ -n "$a" ] && [ "$a" = "$b" ] || { echo "guid $1=$a $2=$b"; return 1; }
}

t_pools() {
  zpool list -H -o name "$SRC" && zpool list -H -o name "$DST"
}

t_ssh_login() {
  [ "$(timeout 20 "${SSH[@]}" "$ZB_SSH_SRC" 'echo ok')" = ok ]
}

t_ssh_full() {
  zfs create "$SRC/data"
  mp=$(zfs get -H -o value mountpoint "$SRC/data")
  head -c 1048576 /dev/urandom >"$mp/blob"
  echo hello >"$mp/hello.txt"
  zfs snapshot "$SRC/data@a"
  timeout 60 "${SSH[@]}" "$ZB_SSH_SRC" "zfs send $SRC/data@a" | timeout 60 zfs receive "$DST/data"
  same_guid "$SRC/data@a" "$DST/data@a"
  # a replica is kept readonly; on a writable zfs-fuse mount even reading (atime) counts as
  # a modification and the next incremental receive would fail
  zfs set readonly=on "$DST/data"
  cmp "$mp/blob" "$(zfs get -H -o value mountpoint "$DST/data")/blob"
}

t_ssh_incremental() {
  mp=$(zfs get -H -o value mountpoint "$SRC/data")
  echo more >"$mp/more.txt"
  zfs snapshot "$SRC/data@b"
  timeout 60 "${SSH[@]}" "$ZB_SSH_SRC" "zfs send -i $SRC/data@a $SRC/data@b" \
    | timeout 60 zfs receive "$DST/data"
  same_guid "$SRC/data@b" "$DST/data@b"
  [ "$(zfs list -H -t snapshot -o name -r "$DST/data" | wc -l)" -eq 2 ]
}

t_mbuffer() {
  local port pid rc=0
  zfs snapshot "$SRC/data@c"
  port=$(pick_port)
  timeout 60 mbuffer -q -I "127.0.0.1:$port" -s 128k -m 16M 2>"$T/mbuffer-in.err" \
    | timeout 60 zfs receive "$DST/mb" &
  pid=$!
  # listener ready before the sender starts
  wait_for 10 port_listening "$port" || { echo "mbuffer never listened on $port"; kill "$pid"; return 1; }
  timeout 60 "${SSH[@]}" "$ZB_SSH_SRC" \
    "set -o pipefail; zfs send $SRC/data@c | mbuffer -q -O 127.0.0.1:$port -s 128k -m 16M" || rc=$?
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$T/mbuffer-in.err"; return "$rc"; }
  same_guid "$SRC/data@c" "$DST/mb@c"
}

t_nsca() {
  local line
  line=$(printf 'smoke\tzettabee\t0\tOK - smoke %s' "$$")
  printf '%s\n' "$line" | timeout 20 send_nsca -H "$ZB_NSCA_HOST" -p "$ZB_NSCA_PORT" -c "$ZB_NSCA_CFG" || return 1
  wait_for 10 grep -q "PROCESS_SERVICE_CHECK_RESULT;smoke;zettabee;0;OK - smoke $$\$" "$ZB_NSCA_COMMAND_FILE" \
    || { echo "not in $ZB_NSCA_COMMAND_FILE:"; cat "$ZB_NSCA_COMMAND_FILE"; return 1; }
  grep -E '^\[[0-9]+\] PROCESS_SERVICE_CHECK_RESULT;smoke;zettabee;0;' "$ZB_NSCA_COMMAND_FILE"
}

t_cleanup_datasets() {
  local ds
  for ds in "$DST/mb" "$DST/data" "$SRC/data"; do
    # zfs-fuse answers 'dataset is busy' for a moment after a receive: retry with a deadline
    wait_for 20 zfs destroy -r "$ds" || zfs destroy -r "$ds"
  done
}

start=$(now_ms)
check pools t_pools
check ssh_login t_ssh_login
check ssh_full_send_receive t_ssh_full
check ssh_incremental t_ssh_incremental
check mbuffer_loopback t_mbuffer
check send_nsca t_nsca
check destroy_datasets t_cleanup_datasets
echo "$passed passed, $failed failed ($(( ($(now_ms) - start) / 1000 )) s)"
[ "$failed" -eq 0 ]
