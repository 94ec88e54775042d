#!/usr/bin/env bash
# Run the same VM cases for several guest architectures, one VM after the
# other, each with the tinyjail binary built for it.
#
# Usage: tests/vm/run-all.sh [ARCH...]
#
# ARCH is x86_64, x86_64-5.10, aarch64, armv7 or riscv64 (default: all
# five). x86_64-5.10 is x86_64 on Debian bullseye's 5.10 kernel, older than
# several features tinyjail uses, so that its fallbacks run for real. For
# each, `TJ_ARCH=ARCH tests/vm/run.sh BINARY CASES...` runs every cases
# script in one boot, with
#   x86_64, x86_64-5.10
#            target/release/tinyjail
#   aarch64  target/aarch64-unknown-linux-musl/release/tinyjail
#   armv7    target/armv7-unknown-linux-musleabihf/release/tinyjail
#   riscv64  target/riscv64gc-unknown-linux-musl/release/tinyjail
# (scripts/build-all builds them). run.sh's output is shown with an [ARCH]
# prefix (the whole console log of a failed run included); then one summary
# line per ARCH and a closing `vm-all: N passed, N failed` line,
# counting ARCHes.
#
# Env: TJ_VM_CASES        cases scripts, separated by spaces (default: every
#                         tests/vm/cases-*.sh, cases-smoke.sh first, which
#                         checks the VM itself)
#      TJ_VM_TARGET_DIR   cargo target directory (default target/)
#      TJ_VM_LOG_DIR      keep each architecture's console log there, as
#                         ARCH.console.log
#      Every TJ_VM_* setting of run.sh (timeout, memory, modules, append...)
#      applies to each VM; TJ_VM_LOG does not (see TJ_VM_LOG_DIR).
#
# Exits 0 only if every architecture passed, 2 on usage errors.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ -n "${TJ_VM_CASES:-}" ]; then
    read -r -a cases <<<"$TJ_VM_CASES"
else
    cases=("$here/cases-smoke.sh")
    for c in "$here"/cases-*.sh; do
        [ "$c" = "$here/cases-smoke.sh" ] || cases+=("$c")
    done
fi
target_dir=${TJ_VM_TARGET_DIR:-$repo/target}
log_dir=${TJ_VM_LOG_DIR:-}
unset TJ_VM_LOG

usage() {
    echo "usage: ${0##*/} [x86_64|x86_64-5.10|aarch64|armv7|riscv64]..." >&2
    exit 2
}

arches=("$@")
((${#arches[@]})) || arches=(x86_64 x86_64-5.10 aarch64 armv7 riscv64)
declare -A target=()
for arch in "${arches[@]}"; do
    case $arch in
        x86_64 | x86_64-5.10 | aarch64 | armv7 | riscv64) ;;
        *) usage ;;
    esac
    # The Rust target from arch.sh (in a subshell: arch.sh sets much more).
    # shellcheck source=arch.sh
    target[$arch]=$(export TJ_ARCH=$arch && . "$here/arch.sh" && echo "$TJ_RUST_TARGET") || usage
done
for c in "${cases[@]}"; do
    [ -f "$c" ] || { echo "run-all.sh: cases script not found: $c" >&2; exit 2; }
done
if [ -n "$log_dir" ]; then
    mkdir -p "$log_dir" || exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tinyjail-vm-all.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
summary=()
all_start=$(date +%s.%N)
for arch in "${arches[@]}"; do
    if [ -n "${target[$arch]}" ]; then
        bin=$target_dir/${target[$arch]}/release/tinyjail
    else
        bin=$target_dir/release/tinyjail
    fi
    out=$work/$arch.out
    echo "== $arch: $bin"
    start=$(date +%s.%N)
    if [ ! -f "$bin" ]; then
        echo "run-all.sh: $bin not found (build it with scripts/build-all ${arch%%-*})" >"$out"
        rc=missing
        cat "$out"
    else
        if [ -n "$log_dir" ]; then
            export TJ_VM_LOG=$log_dir/$arch.console.log
        fi
        TJ_ARCH=$arch "$here/run.sh" "$bin" "${cases[@]}" 2>&1 </dev/null | tee "$out" |
            sed -u "s/^/[$arch] /"
        rc=${PIPESTATUS[0]}
        unset TJ_VM_LOG
    fi
    end=$(date +%s.%N)
    total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    boot=$(sed -n 's/^run\.sh: TJBOOT uptime=\([0-9.]*\)s.*/\1/p' "$out" | head -n 1)
    counts=$(sed -n 's/^vm: //p' "$out" | tail -n 1)
    scripts=$(sed -n 's/^run\.sh: cases scripts: //p' "$out" | tail -n 1)
    case $rc in
        0) ;;
        missing) counts="binary not built" ;;
        *) counts=${counts:-no results (run.sh exit $rc)} ;;
    esac
    if [ "$rc" = 0 ]; then
        verdict=PASS
        passed=$((passed + 1))
    else
        verdict=FAIL
        failed=$((failed + 1))
    fi
    if [ -n "$boot" ]; then boot=${boot}s; else boot=-; fi
    line=$(printf '%-11s %s  %s; boot %s, total %ss' "$arch" "$verdict" "$counts" "$boot" "$total")
    [ -z "$scripts" ] || line+=$'\n'"              $scripts"
    # The failed cases by name, with their reasons (from the result lines
    # run.sh prints before any console log dump).
    while IFS= read -r f; do
        line+=$'\n'"              ${f#TJRESULT }"
    done < <(awk '/^===== console log =====$/ { exit } /^TJRESULT [^ ]+ FAIL/' "$out")
    summary+=("$line")
done
all_end=$(date +%s.%N)

echo "== summary"
for line in "${summary[@]}"; do
    echo "vm-all: $line"
done
awk -v a="$all_start" -v b="$all_end" 'BEGIN { printf "vm-all: total %.1fs\n", b - a }'
echo "vm-all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
