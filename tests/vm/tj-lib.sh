# Helpers for cases scripts running inside the test VM (installed there as
# /lib/tj.sh; use with `. /lib/tj.sh`). They print the result protocol that
# tests/vm/run.sh parses:
#   TJRESULT <case> PASS
#   TJRESULT <case> FAIL <reason>
#   TJRESULT <case> SKIP <reason>
#   TJINFO <text>
#   TJDONE
# Case names must not contain spaces, and must be unique across all the
# cases scripts of one VM run.

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

# tj_expect NAME RC WANTED_RC OUTPUT PATTERN...: PASS if RC is WANTED_RC and
# every pattern (grep basic regex, matched per line) is found in OUTPUT; a
# pattern written !PATTERN must not be found. Anchor the patterns
# (^key=value$): a bare number also matches other lines.
tj_expect() {
    _n=$1 _rc=$2 _want=$3 _out=$4
    shift 4
    if [ "$_rc" != "$_want" ]; then
        tj_fail "$_n" "exit $_rc, wanted $_want: $(echo "$_out" | tail -n 3 | tr '\n' ' ')"
        return
    fi
    for _p in "$@"; do
        case $_p in
        !*)
            if echo "$_out" | grep -q -- "${_p#!}"; then
                tj_fail "$_n" "'${_p#!}' in: $(echo "$_out" | tail -n 6 | tr '\n' ' ')"
                return
            fi
            ;;
        *)
            if ! echo "$_out" | grep -q -- "$_p"; then
                tj_fail "$_n" "no '$_p' in: $(echo "$_out" | tail -n 6 | tr '\n' ' ')"
                return
            fi
            ;;
        esac
    done
    tj_pass "$_n"
}

# tj_kernel_at_least MAJOR.MINOR: true when the running kernel is that release
# or a later one.
tj_kernel_at_least() {
    _r=$(uname -r)
    _major=${_r%%.*}
    _r=${_r#*.}
    _minor=${_r%%[!0-9]*}
    [ "$_major" -gt "${1%%.*}" ] ||
        { [ "$_major" -eq "${1%%.*}" ] && [ "$_minor" -ge "${1#*.}" ]; }
}

# tj_cgroup_has FILE: true when a new cgroup gets the interface file FILE
# (cgroup.kill, memory.peak), i.e. the kernel has it. Probed in a cgroup made
# below the root for the purpose; FILE's controller (the part before the
# first dot) is enabled at the root for it where it is not, and disabled
# again after.
tj_cgroup_has() {
    _cg=/sys/fs/cgroup _ctl=${1%%.*} _on= _has=1
    if [ "$_ctl" != cgroup ] && ! grep -qw "$_ctl" $_cg/cgroup.subtree_control; then
        echo "+$_ctl" >$_cg/cgroup.subtree_control || return 1
        _on=1
    fi
    if mkdir $_cg/tj-probe; then
        [ -e "$_cg/tj-probe/$1" ] && _has=0
        rmdir $_cg/tj-probe
    fi
    [ -z "$_on" ] || echo "-$_ctl" >$_cg/cgroup.subtree_control
    return $_has
}

# tj_check_clean NAME: PASS (as NAME-cleanup) when no container cgroup is left
# below tinyjail's default parent /sys/fs/cgroup/tinyjail.
tj_check_clean() {
    _left=$(find /sys/fs/cgroup/tinyjail -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')
    if [ -z "$_left" ]; then
        tj_pass "$1-cleanup"
    else
        tj_fail "$1-cleanup" "left: $_left"
    fi
}

# tj_wait_for TENTHS CMD...: runs CMD every tenth of a second until it
# succeeds; fails after TENTHS tries.
tj_wait_for() {
    _t=$1; shift
    while ! "$@" 2>/dev/null; do
        [ "$_t" -gt 0 ] || return 1
        _t=$((_t - 1))
        sleep 0.1
    done
}

# tj_kernel_symbol NAME [NEIGHBOUR]: true when /proc/kallsyms lists the kernel
# function NAME, for a behaviour no file shows. Reading the whole list takes
# seconds under TCG: with NEIGHBOUR, a function of the same source file that
# every kernel has, the search ends 200 entries after it.
tj_kernel_symbol() {
    awk -v want="$1" -v near="${2:-}" '
        $3 == want { found = 1; exit }
        $3 == near { last = NR + 200 }
        last && NR > last { exit }
        END { exit !found }' /proc/kallsyms 2>/dev/null
}
