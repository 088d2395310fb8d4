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

# nagios4-core is Debian nagios4's daemon without the web interface; check_dummy comes with
# monitoring-plugins-basic.
PACKAGES="zfs-fuse mbuffer openssh-server nsca nsca-client zstd lz4 nagios4-core monitoring-plugins-basic"
NAGIOS=/usr/sbin/nagios4
CHECK_DUMMY=/usr/lib/nagios/plugins/check_dummy
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
  for c in zfs-fuse zpool zfs mbuffer /usr/sbin/sshd ssh ssh-keygen nsca send_nsca zstd lz4 "$NAGIOS" "$CHECK_DUMMY"; do
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

# A Nagios 4 core of its own (it opens no port): configuration, status.dat, log and external
# command FIFO in DIR/nagios; services go to DIR/nagios/services/*.cfg, which the tests write before
# sending the daemon SIGHUP (by pid). Freshness is checked every second with no extra latency, so a
# test can watch a short freshness_threshold expire.
start_nagios() {
  local n="$DIR/nagios" pid
  [ -x "$NAGIOS" ] || die "$NAGIOS is missing (package nagios4-core)"
  [ -x "$CHECK_DUMMY" ] || die "$CHECK_DUMMY is missing (package monitoring-plugins-basic)"
  mkdir -p "$n/services" "$n/checkresults" "$n/tmp"
  cat >"$n/objects.cfg" <<NAGIOS_OBJECTS
define command {
    command_name    check_dummy
    command_line    $CHECK_DUMMY \$ARG1\$ \$ARG2\$
}
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define contact {
    contact_name                    nobody
    host_notifications_enabled      0
    service_notifications_enabled   0
    host_notification_period        24x7
    service_notification_period     24x7
    host_notification_options       n
    service_notification_options    n
    host_notification_commands      check_dummy
    service_notification_commands   check_dummy
}
define host {
    name                    generic-host
    register                0
    max_check_attempts      1
    check_period            24x7
    check_command           check_dummy!0
    active_checks_enabled   0
    passive_checks_enabled  1
    notifications_enabled   0
    notification_period     24x7
    contacts                nobody
}
define service {
    name                    generic-service
    register                0
    max_check_attempts      1
    check_interval          5
    retry_interval          1
    check_period            24x7
    notifications_enabled   0
    notification_period     24x7
    contacts                nobody
}
define host {
    use                     generic-host
    host_name               realenv
    address                 127.0.0.1
}
define service {
    use                     generic-service
    host_name               realenv
    service_description     startup
    active_checks_enabled   0
    passive_checks_enabled  1
    check_command           check_dummy!0
}
NAGIOS_OBJECTS
  cat >"$n/nagios.cfg" <<NAGIOS_MAIN
log_file=$n/nagios.log
cfg_file=$n/objects.cfg
cfg_dir=$n/services
object_cache_file=$n/objects.cache
precached_object_file=$n/objects.precache
status_file=$n/status.dat
query_socket=$n/nagios.qh
status_update_interval=1
nagios_user=root
nagios_group=root
check_external_commands=1
command_file=$n/nagios.cmd
lock_file=$n/nagios.pid
temp_file=$n/nagios.tmp
temp_path=$n/tmp
check_result_path=$n/checkresults
check_result_reaper_frequency=1
event_broker_options=0
use_syslog=0
log_rotation_method=n
log_external_commands=1
log_passive_checks=1
log_initial_states=1
retain_state_information=0
interval_length=1
check_for_updates=0
enable_notifications=0
enable_event_handlers=0
accept_passive_service_checks=1
accept_passive_host_checks=1
execute_service_checks=1
check_service_freshness=1
service_freshness_check_interval=1
additional_freshness_latency=0
allow_empty_hostgroup_assignment=1
illegal_macro_output_chars=\`~\$&|'"<>
NAGIOS_MAIN
  "$NAGIOS" -v "$n/nagios.cfg" >"$n/verify.log" 2>&1 || die "nagios4 rejects its configuration: $(tail -5 "$n/verify.log")"
  "$NAGIOS" -d "$n/nagios.cfg" >"$n/start.log" 2>&1 </dev/null || die "nagios4 did not start: $(cat "$n/start.log")"
  wait_for 10 test -s "$n/nagios.pid" || die "nagios4 wrote no pid file: $(cat "$n/start.log")"
  pid=$(cat "$n/nagios.pid")
  record ZB_NAGIOS_PID "$pid"
  record ZB_NAGIOS_DIR "$n"
  record ZB_NAGIOS_STATUS "$n/status.dat"
  record ZB_NAGIOS_LOG "$n/nagios.log"
  record ZB_NAGIOS_SERVICES "$n/services"
  wait_for 15 test -p "$n/nagios.cmd" || die "nagios4 made no command file: $(tail -5 "$n/nagios.log" 2>/dev/null)"
  wait_for 15 test -s "$n/status.dat" || die "nagios4 wrote no status.dat: $(tail -5 "$n/nagios.log" 2>/dev/null)"
}

start_nsca() {
  local n="$DIR/nsca" try port pid pw
  mkdir -p "$n"
  pw="zb$RANDOM$RANDOM"
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
command_file=$ZB_NAGIOS_DIR/nagios.cmd
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
  # nsca writes into Nagios's command FIFO; Nagios logs each command as it takes it
  # ("[time] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;…"): that log is the tests' command file.
  record ZB_NSCA_COMMAND_FILE "$ZB_NAGIOS_LOG"
  record ZB_NSCA_DUMP_FILE "$n/dump_file"
  # handshake: one check result must reach Nagios through the daemon
  printf 'realenv\tstartup\t0\tready\n' \
    | send_nsca -H 127.0.0.1 -p "$port" -c "$DIR/send_nsca.cfg" >/dev/null \
    || die "send_nsca handshake failed"
  wait_for 10 grep -q 'EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;realenv;startup;0;ready' "$ZB_NAGIOS_LOG" \
    || die "the handshake result did not reach nagios4 through nsca"
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
  start_nagios
  start_nsca
  trap - EXIT
  log "ready: $DIR/env"
}

# pid_gone PID: ended (a zombie that no init reaps counts as ended).
pid_gone() { ! pid_alive "$1"; }

stop_pid() { # PID NAME
  local pid=$1 name=$2
  [ -n "$pid" ] || return 0
  pid_is "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 15 pid_gone "$pid"; then
    log "$name ($pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 5 pid_gone "$pid" || true
  fi
}

# stop_nagios PID: the daemon by pid; its check workers (its children, --worker DIR/nagios/nagios.qh)
# end with it, which this waits for.
stop_nagios() {
  local pid=$1 worker left
  [ -n "$pid" ] || return 0
  stop_pid "$pid" nagios4
  wait_for 10 nagios_workers_gone || {
    left=$(nagios_workers)
    log "nagios4 workers outlived the daemon: $left; sending SIGKILL"
    for worker in $left; do kill -KILL "$worker" 2>/dev/null || true; done
  }
}

# The live processes whose command line names this environment's Nagios query socket.
nagios_workers() {
  local p
  for p in /proc/[0-9]*; do
    pid_alive "${p#/proc/}" || continue
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "--worker $DIR/nagios/nagios.qh" && echo "${p#/proc/}"
  done
  return 0
}
nagios_workers_gone() { [ -z "$(nagios_workers)" ]; }

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
  local ZB_NSCA_PID='' ZB_NAGIOS_PID='' ZB_SSHD_PID='' ZB_SRC_POOL='' ZB_DST_POOL='' ZB_ZFS_FUSE_STARTED=0 ZB_ZFS_FUSE_PID=''
  # shellcheck disable=SC1091
  [ -f "$DIR/env" ] && . "$DIR/env"
  stop_pid "$ZB_NSCA_PID" nsca
  stop_nagios "$ZB_NAGIOS_PID"
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
