#!/usr/bin/env bash
# A longer fault soak on the fake tier than the one `swift test` runs (see
# Tests/ZettabeeCLITests/Reliability/FaultSoakTests.swift): seeded, reproducible rounds of random
# data, one random fault or signal, the invariants, and a clean recovering run.
#
#   scripts/soak.sh [ROUNDS [SEED]]     default: 200 rounds, a random seed (printed)
#
# A failure prints the seed and the round; `scripts/soak.sh ROUNDS SEED` replays it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${1:-200}
seed=${2:-$(( (RANDOM << 15 | RANDOM) % 999999 + 1 ))}
case $rounds$seed in *[!0-9]*) echo "usage: scripts/soak.sh [ROUNDS [SEED]]" >&2; exit 2 ;; esac

swift build --build-tests
ZETTABEE_SOAK_ROUNDS=$rounds ZETTABEE_SOAK_SEED=$seed \
  exec swift test --skip-build --filter 'FaultSoakTests'
