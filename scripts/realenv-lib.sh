# Helpers shared by realenv.sh and real-smoke.sh (source it; bash only).

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() { date +%s%3N; }

# port_seen PORT: true if PORT appears as a local port in any TCP socket (any state).
port_seen() {
  local h
  h=$(printf ':%04X' "$1")
  awk -v h="$h" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# port_listening PORT: true if some socket is in LISTEN state (0A) on PORT.
port_listening() {
  local h
  h=$(printf ':%04X' "$1")
  awk -v h="$h" 'FNR > 1 && substr($2, length($2) - 4) == h && $4 == "0A" { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# pick_port: print a port in 20000-32767 (below the kernel's ephemeral range) that no socket uses.
# The caller must still handle losing a race (bind failure) by retrying with another port.
pick_port() {
  local i p
  for i in $(seq 1 200); do
    p=$(( 20000 + (RANDOM % 12768) ))
    if ! port_seen "$p"; then
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# wait_for SECONDS CMD...: run CMD until it succeeds or the deadline passes (polls every 50 ms).
wait_for() {
  local secs=$1; shift
  local deadline=$(( $(now_ms) + secs * 1000 ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ "$(now_ms)" -ge "$deadline" ]; then return 1; fi
    sleep 0.05
  done
}

# pid_alive PID: true if PID exists (and is not a zombie).
pid_alive() {
  [ -n "${1:-}" ] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# pid_is PID NAME: true if PID is alive and its command line mentions NAME.
pid_is() {
  pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

# listening_by PORT PID: PORT is in LISTEN state and PID is still alive.
listening_by() { port_listening "$1" && pid_alive "$2"; }
