# Helpers for cases scripts running inside the test VM (installed there as
# /lib/tj.sh; use with `. /lib/tj.sh`). They print the result protocol that
# tests/vm/run.sh parses:
#   TJRESULT <case> PASS
#   TJRESULT <case> FAIL <reason>
#   TJRESULT <case> SKIP <reason>
#   TJINFO <text>
#   TJDONE
# Case names must not contain spaces.

tj_pass() { echo "TJRESULT $1 PASS"; }
tj_fail() { _n=$1; shift; echo "TJRESULT $_n FAIL ${*:-failed}"; }
tj_skip() { _n=$1; shift; echo "TJRESULT $_n SKIP ${*:-skipped}"; }
tj_info() { echo "TJINFO $*"; }
tj_done() { echo "TJDONE"; }

# tj_check NAME CMD...: PASS if CMD succeeds, else FAIL with its output.
tj_check() {
    _n=$1; shift
    if _out=$("$@" 2>&1); then
        tj_pass "$_n"
    else
        tj_fail "$_n" "exit $?: $(echo "$_out" | tail -n 3 | tr '\n' ' ')"
    fi
}
