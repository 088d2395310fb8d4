#!/usr/bin/env bash
# Real-component test environment for zettabee.
#
#   scripts/realenv.sh start DIR   start zfs-fuse (unless running), two file-backed pools,
#                                  a private sshd and a private nsca daemon on 127.0.0.1;
#                                  writes DIR/env (sourceable) describing all of it
#   scripts/realenv.sh stop DIR    undo everything start did (by pid), remove DIR; idempotent
#   scripts/realenv.sh restart-sshd DIR
#                                  start DIR's sshd again (same configuration and port) unless it
#                                  runs; prints its pid and records it in DIR/env
#
# Requires root and /dev/fuse. Everything listens on 127.0.0.1 only. Nothing is written to
# /root/.ssh or to system configuration.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=realenv-lib.sh
. "$HERE/realenv-lib.sh"

PACKAGES="zfs-fuse mbuffer openssh-server nsca nsca-client zstd lz4"
# The operator's tools the RealTierOperatorTools tests check zettabee's files with.
TOOL_PACKAGES="prometheus prometheus-node-exporter logrotate man-db"
ZFS_FUSE_LOCK=/run/lock/zettabee-realenv-zfs-fuse.lock
MARKER=.zettabee-realenv

log() { echo "realenv: $*" >&2; }
die() { echo "realenv: $*" >&2; exit 1; }

# record KEY VALUE: append an export to DIR/env at once, so a half-finished start can be stopped.
record() {
  printf 'export %s=%q\n' "$1" "$2" >>"$DIR/env"
  printf -v "$1" '%s' "$2"
}

check_prereqs() {
  if [ "$(id -u)" -ne 0 ]; then echo "realenv: must run as root" >&2; exit 2; fi
  if [ ! -c /dev/fuse ]; then echo "realenv: /dev/fuse is missing (zfs-fuse needs FUSE)" >&2; exit 2; fi
}

install_missing() {
  local need=0 c
  for c in zfs-fuse zpool zfs mbuffer /usr/sbin/sshd ssh ssh-keygen nsca send_nsca zstd lz4; do
    command -v "$c" >/dev/null 2>&1 || need=1
  done
  for c in promtool prometheus-node-exporter logrotate man; do
    command -v "$c" >/dev/null 2>&1 || need=1
  done
  if [ "$need" -eq 1 ]; then
    log "installing: $PACKAGES $TOOL_PACKAGES"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    # Only the programs: their daemons are started (and stopped, by pid) by the tests that need them.
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PACKAGES >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $TOOL_PACKAGES >&2
  fi
}

zfs_ready() { zpool list -H -o name >/dev/null 2>&1; }

start_zfs_fuse() {
  exec 9>"$ZFS_FUSE_LOCK"
  flock -w 30 9 || die "could not lock $ZFS_FUSE_LOCK"
  if zfs_ready; then
    record ZB_ZFS_FUSE_STARTED 0
    record ZB_ZFS_FUSE_PID "$(pgrep -o -x zfs-fuse || true)"
    log "reusing the running zfs-fuse"
  else
    zfs-fuse --pidfile "$DIR/zfs-fuse.pid" >"$DIR/zfs-fuse.log" 2>&1 9>&- || die "zfs-fuse failed to start"
    wait_for 10 test -s "$DIR/zfs-fuse.pid" || die "zfs-fuse wrote no pid file"
    record ZB_ZFS_FUSE_STARTED 1
    record ZB_ZFS_FUSE_PID "$(cat "$DIR/zfs-fuse.pid")"
    wait_for 20 zfs_ready || die "zfs-fuse did not answer 'zpool list' within 20 s"
  fi
  flock -u 9
  exec 9>&-
}

create_pool() { # VAR NAME
  local var=$1 name=$2 file="$DIR/pools/$2.img"
  truncate -s 256M "$file"
  # -m keeps the mounts inside DIR instead of /NAME
  zpool create -m "$DIR/mnt/$name" "$name" "$file" 2>"$DIR/pools/$name.create.err" \
    || { cat "$DIR/pools/$name.create.err" >&2; die "zpool create $name failed"; }
  record "$var" "$name"
  record "${var}_FILE" "$file"
}

start_sshd() {
  local s="$DIR/ssh" try port pid
  mkdir -p "$s" /run/sshd
  chmod 700 "$s"
  ssh-keygen -q -t ed25519 -N '' -C zettabee-realenv-host -f "$s/host_ed25519_key"
  ssh-keygen -q -t ed25519 -N '' -C zettabee-realenv-client -f "$s/id_ed25519"
  cp "$s/id_ed25519.pub" "$s/authorized_keys"
  record ZB_SSH_KEY "$s/id_ed25519"
  for try in 1 2 3 4 5; do
    port=$(pick_port)
    cat >"$s/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $s/host_ed25519_key
AuthorizedKeysFile $s/authorized_keys
PidFile $s/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
PrintMotd no
LogLevel ERROR
EOF
    /usr/sbin/sshd -t -f "$s/sshd_config" || die "sshd rejected its configuration"
    rm -f "$s/sshd.pid"
    if /usr/sbin/sshd -f "$s/sshd_config" -E "$s/sshd.log" \
        && wait_for 10 test -s "$s/sshd.pid"; then
      pid=$(cat "$s/sshd.pid")
      if wait_for 10 listening_by "$port" "$pid"; then
        record ZB_SSHD_PID "$pid"
        record ZB_SSH_PORT "$port"
        break
      fi
      kill "$pid" 2>/dev/null || true
    fi
    log "sshd could not use port $port (attempt $try)"
    port=
  done
  [ -n "$port" ] || die "sshd did not start"
  cat >"$DIR/ssh_config" <<EOF
Host src dst
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $s/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking accept-new
  BatchMode yes
  ConnectTimeout 10
  LogLevel ERROR
EOF
  record ZB_SSH_CONFIG "$DIR/ssh_config"
  record ZB_SSH_SRC src
  record ZB_SSH_DST dst
  # handshake: a real login must work (also fills known_hosts)
  wait_for 15 ssh -F "$DIR/ssh_config" src true || die "ssh -F $DIR/ssh_config src true failed"
}

start_nsca() {
  local n="$DIR/nsca" try port pid pw
  mkdir -p "$n"
  pw="zb$RANDOM$RANDOM"
  : >"$n/command_file"
  printf 'password=%s\nencryption_method=1\n' "$pw" >"$DIR/send_nsca.cfg"
  for try in 1 2 3 4 5; do
    port=$(pick_port)
    cat >"$n/nsca.cfg" <<EOF
pid_file=$n/nsca.pid
server_port=$port
server_address=127.0.0.1
nsca_user=root
nsca_group=root
debug=0
command_file=$n/command_file
alternate_dump_file=$n/dump_file
aggregate_writes=0
append_to_file=1
max_packet_age=30
password=$pw
decryption_method=1
EOF
    nsca -f -c "$n/nsca.cfg" --single >"$n/nsca.log" 2>&1 </dev/null &
    pid=$!
    if wait_for 10 listening_by "$port" "$pid"; then
      record ZB_NSCA_PID "$pid"
      record ZB_NSCA_PORT "$port"
      break
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    log "nsca could not use port $port (attempt $try)"
    port=
  done
  [ -n "$port" ] || die "nsca did not start"
  record ZB_NSCA_HOST 127.0.0.1
  record ZB_NSCA_CFG "$DIR/send_nsca.cfg"
  record ZB_NSCA_COMMAND_FILE "$n/command_file"
  record ZB_NSCA_DUMP_FILE "$n/dump_file"
  # handshake: one check result must arrive in the command file; then empty it
  printf 'realenv\tstartup\t0\tready\n' \
    | send_nsca -H 127.0.0.1 -p "$port" -c "$DIR/send_nsca.cfg" >/dev/null \
    || die "send_nsca handshake failed"
  wait_for 10 grep -q 'PROCESS_SERVICE_CHECK_RESULT;realenv;startup;0;ready' "$n/command_file" \
    || die "nsca did not write the handshake result"
  : >"$n/command_file"
}

cmd_start() {
  check_prereqs
  [ -n "${DIR:-}" ] || die "usage: $0 start DIR"
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then die "$DIR exists and is not empty"; fi
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  : >"$DIR/$MARKER"
  : >"$DIR/env"
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed, cleaning up"; cmd_stop || true; fi' EXIT
  install_missing
  mkdir -p "$DIR/pools" "$DIR/mnt"
  record ZB_REAL_DIR "$DIR"
  start_zfs_fuse
  local tag="$$r$RANDOM"
  create_pool ZB_SRC_POOL "zbsrc$tag"
  create_pool ZB_DST_POOL "zbdst$tag"
  record ZB_MNT_DIR "$DIR/mnt"
  start_sshd
  start_nsca
  trap - EXIT
  log "ready: $DIR/env"
}

stop_pid() { # PID NAME
  local pid=$1 name=$2
  [ -n "$pid" ] || return 0
  pid_is "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 15 bash -c "! kill -0 $pid 2>/dev/null"; then
    log "$name ($pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 5 bash -c "! kill -0 $pid 2>/dev/null" || true
  fi
}

destroy_pool() { # NAME
  local name=$1 deadline
  [ -n "$name" ] || return 0
  zpool list -H -o name "$name" >/dev/null 2>&1 || return 0
  deadline=$(( $(now_ms) + 30000 ))
  until zpool destroy "$name" 2>"$DIR/destroy.err"; do
    # zfs-fuse answers 'pool is busy' for a moment after writes
    if [ "$(now_ms)" -ge "$deadline" ]; then
      zpool destroy -f "$name" 2>&1 || log "could not destroy pool $name: $(cat "$DIR/destroy.err")"
      break
    fi
    sleep 0.2
  done
}

cmd_stop() {
  [ -n "${DIR:-}" ] || die "usage: $0 stop DIR"
  [ -d "$DIR" ] || return 0
  DIR=$(cd "$DIR" && pwd)
  [ -e "$DIR/$MARKER" ] || die "$DIR was not made by realenv.sh start; not touching it"
  local ZB_NSCA_PID='' ZB_SSHD_PID='' ZB_SRC_POOL='' ZB_DST_POOL='' ZB_ZFS_FUSE_STARTED=0 ZB_ZFS_FUSE_PID=''
  # shellcheck disable=SC1091
  [ -f "$DIR/env" ] && . "$DIR/env"
  stop_pid "$ZB_NSCA_PID" nsca
  stop_pid "$ZB_SSHD_PID" sshd
  if zfs_ready; then
    destroy_pool "$ZB_SRC_POOL"
    destroy_pool "$ZB_DST_POOL"
  fi
  if [ "$ZB_ZFS_FUSE_STARTED" = 1 ]; then
    exec 9>"$ZFS_FUSE_LOCK"
    flock -w 30 9 || true
    # another user may have created pools on the daemon meanwhile: then leave it running
    if [ -z "$(zpool list -H -o name 2>/dev/null)" ]; then
      stop_pid "$ZB_ZFS_FUSE_PID" zfs-fuse
    else
      log "zfs-fuse ($ZB_ZFS_FUSE_PID) still has other pools; leaving it running"
    fi
    flock -u 9 || true
    exec 9>&-
  fi
  # mounts went below DIR/mnt; make sure nothing is left mounted before removing
  if grep -q " $DIR/mnt" /proc/mounts 2>/dev/null; then
    log "something is still mounted below $DIR/mnt; leaving $DIR in place"
    return 1
  fi
  rm -rf "$DIR"
}

cmd_restart_sshd() {
  [ -n "${DIR:-}" ] || die "usage: $0 restart-sshd DIR"
  [ -d "$DIR" ] || die "$DIR does not exist"
  DIR=$(cd "$DIR" && pwd)
  [ -e "$DIR/$MARKER" ] || die "$DIR was not made by realenv.sh start; not touching it"
  local ZB_SSHD_PID='' ZB_SSH_PORT='' s="$DIR/ssh" pid
  # shellcheck disable=SC1091
  . "$DIR/env"
  [ -n "$ZB_SSH_PORT" ] && [ -f "$s/sshd_config" ] || die "no sshd was started for $DIR"
  if [ -n "$ZB_SSHD_PID" ] && pid_is "$ZB_SSHD_PID" sshd && port_listening "$ZB_SSH_PORT"; then
    echo "$ZB_SSHD_PID"
    return 0
  fi
  port_listening "$ZB_SSH_PORT" && die "port $ZB_SSH_PORT is taken by another process"
  rm -f "$s/sshd.pid"
  /usr/sbin/sshd -f "$s/sshd_config" -E "$s/sshd.log" || die "sshd did not start"
  wait_for 10 test -s "$s/sshd.pid" || die "sshd wrote no pid file"
  pid=$(cat "$s/sshd.pid")
  wait_for 10 listening_by "$ZB_SSH_PORT" "$pid" || die "sshd ($pid) does not listen on $ZB_SSH_PORT"
  record ZB_SSHD_PID "$pid"
  wait_for 15 ssh -F "$DIR/ssh_config" src true || die "ssh -F $DIR/ssh_config src true failed"
  echo "$pid"
}

main() {
  local cmd=${1:-}
  DIR=${2:-}
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart-sshd) cmd_restart_sshd ;;
    *) echo "usage: $0 start|stop|restart-sshd DIR" >&2; exit 2 ;;
  esac
}

main "$@"
