#!/bin/sh
# zettabee demo: replicates two filesystems of a simulated source host into a simulated local pool,
# using the fake zfs/ssh/mbuffer of fixtures/fakebin. Needs only Swift; nothing outside a temporary
# directory is touched, and it is removed on exit.
#
#   scripts/demo.sh
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -t 1 ]; then bold=$(printf '\033[1m'); plain=$(printf '\033[0m'); else bold=; plain=; fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$plain"; }
# Prints a command, then runs it.
run() {
    printf '$ %s\n' "$*"
    "$@"
}

say "Building zettabee and the fake tools"
run swift build --product zettabee
run swift build --product zfake
bin=$(swift build --show-bin-path)

demo=$(mktemp -d "${TMPDIR:-/tmp}/zettabee-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT INT TERM

# The simulated world: zettabee's own host is "backup"; the fake ssh takes it to the host "src".
export ZFAKE_WORLD="$demo/world"
export ZFAKE_BIN="$bin/zfake"
export ZFAKE_HOST=backup
export PATH="$root/fixtures/fakebin:$bin:$PATH"
unset ZETTABEE_CONFIG ZETTABEE_RUN_DIR ZETTABEE_LOG_DIR ZETTABEE_SSH_CONFIG ZFAKE_FAULTS 2>/dev/null || true

# A TCP port nobody listens on, for the mbuffer pair.
free_port() {
    while :; do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
        hex=$(printf ':%04X ' "$port")
        if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex"; then
            echo "$port"
            return
        fi
    done
}
port=$(free_port)

# zstd compresses the ssh pair when it is installed; without it the pair streams uncompressed.
if command -v zstd >/dev/null 2>&1; then compress=zstd; else compress=none; fi

say "A source host 'src' with two filesystems, and the local destination pool 'backup'"
run zfake-ctl --host src create-pool tank
run zfake-ctl --host src create tank/home
run zfake-ctl --host src write tank/home 6M
run zfake-ctl --host src create tank/projects
run zfake-ctl --host src write tank/projects 3M
run zfake-ctl --host backup create-pool backup

config="$demo/zettabee.cfg"
cat >"$config" <<EOF
# source              destination             options
src:tank/home         backup:backup/home      compress=$compress
src:tank/projects     backup:backup/projects  port=$port,buffer=16M
EOF
say "The configuration ($config)"
cat "$config"

zb() { run zettabee -c "$config" --run-dir "$demo/run" --log-dir "$demo/log" "$@"; }

say "Setup, then a full transfer of each pair"
zb setup
zb initialize backup/home
zb initialize backup/projects

say "New data on the source, then incremental updates"
run zfake-ctl --host src write tank/home 2M
run zfake-ctl --host src write tank/projects 512K
zb update backup/home
zb update backup/projects

say "What an update would run, without running it"
zb --dry-run update backup/projects

say "The pairs' fingerprints (they name the log and lock files and the zfs properties)"
zb fingerprint

say "The log of backup/home"
log=$(zettabee -c "$config" --run-dir "$demo/run" --log-dir "$demo/log" logfile backup/home)
run tail -n 8 "$log"

if zettabee --help | grep -E '^  status ' | grep -q 'not yet available'; then
    say "(zettabee status is not available yet)"
else
    say "Status of every pair"
    zb status
fi

say "The destination's zfs properties and snapshots"
run zfs get -H -o name,property,value readonly,zettabee:fingerprint backup/home backup/projects
run zfs list -t snapshot -o name,used,referenced -r backup

say "Done; removing $demo"
