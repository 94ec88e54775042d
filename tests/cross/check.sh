#!/usr/bin/env bash
# check.sh - the command-line front end of the aarch64, armv7 and riscv64 binaries, run
# under qemu-user: help, version, and every bad-input case of tests/cli.rs
# (bad_input_is_refused_and_changes_nothing), each refused with status 125 and one line on
# stderr. The cases are read from tests/cli.rs on every run (cli-cases.awk), so the two lists
# cannot drift apart.
#
# Usage: tests/cross/check.sh [ARCH...]
#
# ARCH is aarch64, armv7 or riscv64 (default: all three). The binaries are the ones
# scripts/build-all makes, target/TRIPLE/release/tinyjail (TJ_CROSS_TARGET_DIR replaces
# target/). The qemu-user emulators (Debian's qemu-user-static) are called directly, so no
# binfmt_misc registration is needed.
#
# Only the front-end paths are checked: qemu-user does not emulate everything a container
# start needs (new namespaces, the mount API, ID maps), so running a container is left to a
# real kernel or a VM of the architecture.
#
# Prints one line per check and closes with "cross: N passed, N failed"; exits 1 if any
# check failed, 2 on usage errors.

set -uo pipefail
export LC_ALL=C

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
target_dir=${TJ_CROSS_TARGET_DIR:-$repo/target}

# ARCH -> Rust target, qemu-user emulator, readelf's Machine.
declare -A triple=(
    [aarch64]=aarch64-unknown-linux-musl
    [armv7]=armv7-unknown-linux-musleabihf
    [riscv64]=riscv64gc-unknown-linux-musl
)
declare -A emulator=(
    [aarch64]=qemu-aarch64-static
    [armv7]=qemu-arm-static
    [riscv64]=qemu-riscv64-static
)
declare -A machine=(
    [aarch64]=AArch64
    [armv7]=ARM
    [riscv64]=RISC-V
)

arches=("$@")
((${#arches[@]})) || arches=(aarch64 armv7 riscv64)
for arch in "${arches[@]}"; do
    if [[ -z ${triple[$arch]-} ]]; then
        echo "usage: ${0##*/} [aarch64|armv7|riscv64]..." >&2
        exit 2
    fi
done

# The version the binaries report: the package's, as tests/cli.rs expects.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

pass() {
    printf 'ok   %s\n' "$1"
    passed=$((passed + 1))
}

fail() {
    printf 'FAIL %s: %s\n' "$1" "$2"
    failed=$((failed + 1))
}

# The bad-input cases, one per line: expected text, then the arguments, as shell words.
if cases=$(awk -f "$repo/tests/cross/cli-cases.awk" "$repo/tests/cli.rs" 2>"$tmp/awk"); then
    pass "read $(wc -l <<<"$cases") bad-input cases from tests/cli.rs"
else
    fail "reading the bad-input cases of tests/cli.rs" "$(<"$tmp/awk")"
    cases=
fi

# A container root for the cases that get past --root: any directory owned by a user other
# than root will do (nothing is started). Plus a plain file for the ENOTDIR case.
root=$tmp/root
file=$tmp/a-file
mkdir -p "$root"
: >"$file"
if ((EUID == 0)); then
    chown 1000:1000 "$root"
fi

# Runs the binary under test with the given arguments; leaves the status in $status and
# the output in $tmp/out and $tmp/err.
run() {
    "$qemu" "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# slurp VAR FILE: the whole contents of FILE into VAR, trailing newlines included.
slurp() {
    IFS= read -r -d '' "$1" <"$2"
}

# Shows a string on one line, escapes and all.
quoted() {
    printf '%q' "$1"
}

# bad EXPECTED ARG...: refused with 125, nothing on stdout, and on stderr exactly one line
# that starts with "tinyjail: " and contains EXPECTED.
bad() {
    local expected=$1 name out err why=
    shift
    name="$arch refuses $(printf '%q ' "$@")"
    name=${name% }
    run "$@"
    slurp out "$tmp/out"
    slurp err "$tmp/err"
    if ((status != 125)); then
        why="exit status $status, expected 125; stderr: $(quoted "$err")"
    elif [[ -n $out ]]; then
        why="stdout not empty: $(quoted "$out")"
    elif [[ $err != *$'\n' || ${err%$'\n'} == *$'\n'* ]]; then
        why="stderr is not one line: $(quoted "$err")"
    elif [[ $err != "tinyjail: "* ]]; then
        why="stderr does not start with \"tinyjail: \": $(quoted "$err")"
    elif [[ $err != *"$expected"* ]]; then
        why="stderr lacks \"$expected\": $(quoted "$err")"
    fi
    if [[ -n $why ]]; then fail "$name" "$why"; else pass "$name"; fi
}

# good PATTERN ARG...: exit 0, stdout matching the glob PATTERN, nothing on stderr.
good() {
    local pattern=$1 name out err why=
    shift
    name="$arch $*"
    run "$@"
    slurp out "$tmp/out"
    slurp err "$tmp/err"
    # shellcheck disable=SC2053 # $pattern is a glob on purpose
    if ((status != 0)); then
        why="exit status $status, expected 0; stderr: $(quoted "$err")"
    elif [[ -n $err ]]; then
        why="stderr not empty: $(quoted "$err")"
    elif [[ $out != $pattern ]]; then
        why="stdout is not $(quoted "$pattern"): $(quoted "${out:0:200}")"
    fi
    if [[ -n $why ]]; then fail "$name" "$why"; else pass "$name"; fi
}

# The binary itself: an ELF file for the architecture, static, without an interpreter.
elf() {
    local headers why=
    if ! headers=$(readelf -h -l -d -W -- "$bin" 2>&1); then
        why="readelf cannot read it: ${headers%%$'\n'*}"
    elif ! grep -Eq "^ *Machine: +${machine[$arch]}\$" <<<"$headers"; then
        why="not an ${machine[$arch]} ELF file: $(grep -E '^ *Machine:' <<<"$headers")"
    elif grep -q 'INTERP' <<<"$headers"; then
        why="has a program interpreter"
    elif ! grep -q 'There is no dynamic section' <<<"$headers"; then
        why="has a dynamic section"
    fi
    if [[ -n $why ]]; then fail "$arch $bin is a static ${machine[$arch]} ELF" "$why"; else
        pass "$arch $bin is a static ${machine[$arch]} ELF"
    fi
}

for arch in "${arches[@]}"; do
    bin=$target_dir/${triple[$arch]}/release/tinyjail
    qemu=${emulator[$arch]}
    if [[ ! -f $bin ]]; then
        fail "$arch $bin" "no such file (build it with scripts/build-all)"
        continue
    fi
    if ! command -v "$qemu" >/dev/null 2>&1; then
        fail "$arch $qemu" "not found (apt-get install qemu-user-static)"
        continue
    fi
    elf

    # Usage first, then the rest of the help; the version line and nothing else.
    for flag in -h --help; do
        good "Usage: tinyjail --root DIR*" "$flag"
    done
    for flag in -V --version; do
        good "tinyjail $version"$'\n' "$flag"
    done

    # The cases of tests/cli.rs, bad_input_is_refused_and_changes_nothing, in its order.
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        # Only $'...' words and "$root"/"$file" (see cli-cases.awk).
        words=()
        eval "words=($line)"
        bad "${words[@]}"
    done <<<"$cases"
done

printf 'cross: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
