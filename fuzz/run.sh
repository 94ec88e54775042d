#!/usr/bin/env bash
# run.sh - run tinyjail's fuzz targets, each for a bounded time.
#
# Usage: fuzz/run.sh [TARGET...]      (default: every target in fuzz/Cargo.toml)
#
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_TOOLCHAIN  the nightly toolchain cargo-fuzz builds with (default nightly)
#
# Installs cargo-fuzz when it is missing. New inputs go to fuzz/corpus/TARGET (seeded from
# fuzz/seeds/TARGET), crashing inputs to fuzz/artifacts/TARGET. Exits 1 when any target
# crashed (or did not finish in time), naming it; 2 on bad usage.

set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
seconds=${FUZZ_SECONDS:-60}
toolchain=${FUZZ_TOOLCHAIN:-nightly}

die() {
	printf 'fuzz/run.sh: %s\n' "$*" >&2
	exit 2
}

[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "FUZZ_SECONDS must be a whole number of seconds, not '$seconds'"

if ! cargo +"$toolchain" fuzz --version >/dev/null 2>&1; then
	printf 'fuzz/run.sh: installing cargo-fuzz\n' >&2
	cargo install cargo-fuzz --locked
fi

# The fuzz crate's own target directory: the main crate's is shared with other builds.
fuzz=(cargo +"$toolchain" fuzz)
common=(--fuzz-dir "$here" --target-dir "$here/target")

if (($#)); then
	targets=("$@")
else
	mapfile -t targets < <("${fuzz[@]}" list --fuzz-dir "$here")
fi
((${#targets[@]})) || die "no fuzz targets found"
known=$("${fuzz[@]}" list --fuzz-dir "$here")
for target in "${targets[@]}"; do
	grep -qxF -- "$target" <<<"$known" || die "no fuzz target '$target' (there are: ${known//$'\n'/ })"
done

# Built once up front, so that a build failure is not taken for a crash.
"${fuzz[@]}" build "${common[@]}" || {
	printf 'fuzz/run.sh: building the fuzz targets failed\n' >&2
	exit 1
}

failed=()
for target in "${targets[@]}"; do
	corpus="$here/corpus/$target"
	mkdir -p "$corpus"
	extra=()
	[[ -d $here/seeds/$target ]] && extra+=("$here/seeds/$target")
	options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
	[[ -f $here/dicts/$target.dict ]] && options+=(-dict="$here/dicts/$target.dict")
	printf '== %s: %s s\n' "$target" "$seconds" >&2
	# The bound on the whole run: libFuzzer's own limit, plus time to load the corpus.
	if timeout --kill-after=30 $((seconds + 300)) \
		"${fuzz[@]}" run "${common[@]}" "$target" "$corpus" "${extra[@]}" -- "${options[@]}"; then
		printf '== %s: no crash\n' "$target" >&2
	else
		printf '== %s: FAILED (crash input in %s)\n' "$target" "$here/artifacts/$target" >&2
		failed+=("$target")
	fi
done

if ((${#failed[@]})); then
	printf 'fuzz/run.sh: crashed: %s\n' "${failed[*]}" >&2
	exit 1
fi
printf 'fuzz/run.sh: %d target(s), %s s each, no crash\n' "${#targets[@]}" "$seconds" >&2
