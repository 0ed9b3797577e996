#!/usr/bin/env bash
# Runs `convkit mnist` of two binaries alternately (default seed, 2 threads, 5 epochs) and
# prints each run's test accuracy, wall time and epoch times: the old-vs-new check of a
# refactoring ("same accuracy to 4 digits, speed within 5%").
#
#   benches/compare/alternate_mnist.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# Build the old binary from a worktree with its own target dir, e.g.
#   git worktree add /tmp/old REV && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old_target \
#     LIBTORCH_USE_PYTORCH=1 PATH=$PWD/.venv/bin:$PATH cargo build --release -p convkit-apps)
set -euo pipefail
old=$1
new=$2
rounds=${3:-2}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
for round in $(seq "$rounds"); do
    for which in old new; do
        bin=${!which}
        out=$(mktemp -d)
        start=$(date +%s.%N)
        "$bin" mnist --threads 2 --out "$out" > "$out.log" 2>&1
        end=$(date +%s.%N)
        epochs=$(grep -o 'Epoch [0-9]*/[0-9]* - [0-9/]* - [0-9.]*s' "$out.log" | awk '{printf "%s ", $6}')
        printf '%s round %s: %s; wall %.1f s; epochs %s\n' "$which" "$round" \
            "$(grep 'test accuracy' "$out.log")" "$(echo "$end - $start" | bc)" "$epochs"
        rm -rf "$out" "$out.log"
    done
done
