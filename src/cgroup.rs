//! cgroup v2: one cgroup per container, in a cgroup2 hierarchy that tinyjail mounts
//! privately (the host need not have /sys/fs/cgroup mounted).
//!
//! The container's cgroup is `<parent>/<ID>`, with `/tinyjail` as the default parent. It
//! cannot sit directly in a cgroup that holds processes of its own: cgroup v2's
//! no-internal-processes rule lets a non-root cgroup either hold processes or give
//! controllers to children, not both. An empty parent of tinyjail's own is always allowed
//! to give them.
//!
//! The container's cgroup is locked (`flock`) for as long as tinyjail runs; one whose lock
//! is free belongs to a tinyjail that was killed, and the next start removes it. Only
//! cgroups that bear tinyjail's mark (the extended attribute [`MARK`], which only the host's
//! root can set) are ever removed that way: a `--cgroup-parent` is shared with other
//! programs, and even `/tinyjail` may hold a cgroup somebody else made.

use core::ffi::CStr;

use linux_raw_sys::general as k;

use crate::args::Slots;
use crate::cli::{Opt, Tokens};
use crate::error::{Context, Error, Result};
use crate::output::Line;
use crate::plan::{Fallbacks, Id, Plan};
use crate::sys::{self, Errno, Fd, Lock, EMPTY};

/// The default parent, at the root of the hierarchy.
pub const DEFAULT_PARENT: &[u8] = b"tinyjail";
/// The extended attribute that marks a container cgroup as tinyjail's. A `trusted.` name:
/// only a process with CAP_SYS_ADMIN in the host's user namespace can set it, so a
/// container cannot mark a cgroup of somebody else's for removal.
const MARK: &CStr = c"trusted.tinyjail";
/// Longest file read from cgroupfs (cgroup.controllers, cpu.stat, memory.events).
const READ_MAX: usize = 1024;
/// Most controllers one run may enable (the kernel has about a dozen).
const CONTROLLERS_MAX: usize = 16;
/// How deep sub-cgroups made inside a container are removed.
const DEPTH_MAX: usize = 32;
/// How long removal waits for the last processes to leave: 2000 times 500 µs.
const REMOVE_TRIES: u32 = 2000;
const REMOVE_PAUSE_MICROS: u32 = 500;

const NOT_AVAILABLE: &str = "controller is not available in cgroup v2 here; on a hybrid \
    host cgroup v1 may hold it (boot with cgroup_no_v1=all to free it)";

/// The container's cgroup while tinyjail runs. Dropping it kills what is left inside and
/// removes it with every sub-cgroup.
pub struct Cgroup {
    /// The parent directory. Dropped after the cgroup is removed (fields drop after
    /// `drop`): then removes the components of a `--cgroup-parent` that this run made.
    parent: Parent,
    /// The cgroup directory; holds the lock that marks it as in use.
    dir: Fd,
    name: heapless::Vec<u8, 16>,
    /// Whether `cgroup.kill` may be used (see [`crate::plan::Fallbacks`]).
    kill_file: bool,
}

impl Cgroup {
    /// The cgroup directory, for `CLONE_INTO_CGROUP`.
    pub fn dir(&self) -> &Fd {
        &self.dir
    }

    /// Moves a process in (where clone3 could not start it there).
    pub fn add_process(&self, pid: u32) -> Result<()> {
        let mut line = Line::new();
        line.number(u64::from(pid));
        write_file(&self.dir, c"cgroup.procs", line.as_bytes())
            .context("moving the container into its cgroup", b"cgroup.procs")
    }

    /// True when the OOM killer killed a process of the container (`memory.events`).
    pub fn oom_kills(&self) -> u64 {
        let mut buf = [0u8; READ_MAX];
        read_file(&self.dir, c"memory.events", &mut buf)
            .and_then(|text| field(text, b"oom_kill"))
            .unwrap_or(0)
    }

    /// `--stats`: the container's final figures as one `key=value` line.
    pub fn write_stats(&self, line: &mut Line) {
        line.str("tinyjail: stats:");
        let mut buf = [0u8; READ_MAX];
        if let Some(v) = read_file(&self.dir, c"memory.peak", &mut buf).and_then(number) {
            line.str(" memory_peak_bytes=").number(v);
        }
        if let Some(v) =
            read_file(&self.dir, c"cpu.stat", &mut buf).and_then(|t| field(t, b"usage_usec"))
        {
            line.str(" cpu_usec=").number(v);
        }
        if let Some(v) =
            read_file(&self.dir, c"cpu.stat", &mut buf).and_then(|t| field(t, b"throttled_usec"))
        {
            line.str(" cpu_throttled_usec=").number(v);
        }
        if let Some(v) =
            read_file(&self.dir, c"memory.events", &mut buf).and_then(|t| field(t, b"oom_kill"))
        {
            line.str(" oom_kills=").number(v);
        }
        if let Some(v) = read_file(&self.dir, c"pids.peak", &mut buf).and_then(number) {
            line.str(" pids_peak=").number(v);
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let mut name = [0u8; 17];
        name[..self.name.len()].copy_from_slice(&self.name);
        let name = CStr::from_bytes_until_nul(&name).unwrap_or(c"");
        if let Err(errno) = remove_tree(&self.parent.dir, name, 0, self.kill_file) {
            let mut line = Line::new();
            line.str("tinyjail: removing the container's cgroup ")
                .push(&self.name)
                .str(": ");
            crate::error::write_errno(&mut line, errno);
            line.to_stderr();
        }
    }
}

/// Makes the container's cgroup: checks the controllers the `--cgroup` options need,
/// enables them from the root down, creates `<parent>/<id>` owned by the container's root
/// (so that it can make sub-cgroups), and writes the options in order.
///
/// `None` when the kernel has no cgroup2 and no `--cgroup` option asks for one.
pub fn create(
    plan: &Plan,
    slots: &Slots,
    id: &Id,
    uid: u32,
    gid: u32,
    fallbacks: Fallbacks,
) -> Result<Option<Cgroup>> {
    let root = match mount_hierarchy() {
        Ok(root) => root,
        Err(e) if plan.cgroup_count == 0 && e.errno == Some(Errno::ENODEV) => return Ok(None),
        Err(e) => return Err(e),
    };
    let own_parent = plan.cgroup_parent.is_none();
    let parent_path = plan.cgroup_parent.unwrap_or(DEFAULT_PARENT);

    // Every controller asked for must be offered by the hierarchy: checked before anything
    // is made, so that a missing one leaves nothing behind.
    let mut wanted = heapless::Vec::<&'static [u8], CONTROLLERS_MAX>::new();
    let mut tokens = Tokens::new();
    let mut buf = [0u8; READ_MAX];
    while let Some(t) = tokens.next_token(slots)? {
        if t.opt != Opt::Cgroup {
            continue;
        }
        let controller = controller_of(t.value);
        let offered = read_file(&root, c"cgroup.controllers", &mut buf).unwrap_or(b"");
        if !has_word(offered, controller) {
            return Err(Error::input("--cgroup", t.value, NOT_AVAILABLE));
        }
        if !wanted.contains(&controller) {
            wanted
                .push(controller)
                .map_err(|_| Error::input("--cgroup", t.value, "too many controllers"))?;
        }
    }

    // Down from the root: enable what is wanted, make the parent's components. A missing
    // component of a --cgroup-parent is made for this run and removed after it (an empty
    // /tinyjail may stay). Dropping `made` on a way out below removes them again.
    let mut parent = Parent {
        dir: root,
        path: parent_path,
        depth: 0,
        made: 0,
    };
    for component in components(parent_path) {
        enable(&parent.dir, &wanted)?;
        let name = c_name(component);
        let name = CStr::from_bytes_until_nul(&name).unwrap_or(c"");
        let (next, new) =
            open_or_make(&parent.dir, name).context("making the cgroup parent", parent_path)?;
        parent.dir = next;
        parent.depth += 1;
        if (new || parent.made > 0) && !own_parent {
            parent.made += 1;
        }
    }
    let parent = parent;
    enable(&parent.dir, &wanted)?;

    // Remove what killed runs left. Creating takes the parent's lock shared and sweeping
    // takes it exclusively, so that a sweep never mistakes a cgroup that another tinyjail
    // has just made (and not locked yet) for a stale one.
    if sys::flock(&parent.dir, Lock::TryExclusive).is_ok() {
        sweep_stale(&parent.dir, own_parent);
    }
    let _ = sys::flock(&parent.dir, Lock::Shared);

    let name = c_name(id.as_bytes());
    let name_c = CStr::from_bytes_until_nul(&name).unwrap_or(c"");
    let shown: &'static [u8] = b"cgroup of the container";
    match sys::mkdirat(parent.dir.dir(), name_c, 0o755) {
        Ok(()) => {}
        Err(Errno::EEXIST) => {
            // Left by a tinyjail that was killed, or in use by a running container, or
            // anybody's: only one with tinyjail's mark is touched, or an empty one in
            // tinyjail's own parent.
            match remove_if_stale(&parent.dir, name_c, own_parent) {
                Leftover::Gone => {}
                Leftover::InUse => {
                    return Err(Error::input(
                        "--id",
                        id_option(slots),
                        "is the ID of a running container",
                    ))
                }
                Leftover::Foreign => {
                    return Err(Error::input(
                        "--id",
                        id_option(slots),
                        "names a cgroup that exists already and is not one of tinyjail's",
                    ))
                }
            }
            sys::mkdirat(parent.dir.dir(), name_c, 0o755).context("making the", shown)?;
        }
        Err(Errno::EAGAIN) => {
            return Err(Error::sys("making the", shown, Errno::EAGAIN)
                .hint("cgroup.max.depth or cgroup.max.descendants of a cgroup above is reached"))
        }
        Err(e) => return Err(Error::sys("making the", shown, e)),
    }
    let dir = sys::openat(parent.dir.dir(), name_c, k::O_RDONLY | k::O_DIRECTORY, 0)
        .context("opening the", shown)?;
    let _ = sys::flock(&dir, Lock::TryExclusive);
    // Where the kernel refuses the mark (tinyjail itself in a user namespace), the cgroup is
    // still removed at the end of the run; only a killed run's leftover then stays.
    let _ = sys::fsetxattr(&dir, MARK, b"1");
    let _ = sys::flock(&parent.dir, Lock::Unlock);
    let mut stored = heapless::Vec::new();
    let _ = stored.extend_from_slice(id.as_bytes());
    let cgroup = Cgroup {
        parent,
        dir,
        name: stored,
        kill_file: !fallbacks.no_cgroup_kill,
    };

    // Delegation: root inside owns its cgroup and may make sub-cgroups below it.
    for file in [
        EMPTY,
        c"cgroup.procs",
        c"cgroup.subtree_control",
        c"cgroup.threads",
    ] {
        sys::fchownat(cgroup.dir.dir(), file, uid, gid).context("delegating the", shown)?;
    }

    // The options, in the order given.
    let mut tokens = Tokens::new();
    while let Some(t) = tokens.next_token(slots)? {
        if t.opt != Opt::Cgroup {
            continue;
        }
        let eq = t
            .value
            .iter()
            .position(|&b| b == b'=')
            .unwrap_or(t.value.len());
        let file = c_name(&t.value[..eq]);
        let file = CStr::from_bytes_until_nul(&file).unwrap_or(c"");
        let value = &t.value[(eq + 1).min(t.value.len())..];
        write_file(&cgroup.dir, file, value).map_err(|e| {
            let e = Error::sys("writing --cgroup", t.value, e);
            if e.errno == Some(Errno::ENOENT) {
                e.hint("the controller has no such file")
            } else {
                e
            }
        })?;
    }
    Ok(Some(cgroup))
}

/// The cgroup2 hierarchy's root (or the cgroup namespace's): the host's own mount where it
/// has a writable one at /sys/fs/cgroup (or /sys/fs/cgroup/unified on a hybrid host),
/// else a private, detached cgroup2 mount. Making a new cgroup2 mount can stall for
/// milliseconds on a busy cgroup tree, so the host's is preferred where it is there.
fn mount_hierarchy() -> Result<Fd> {
    for path in [c"/sys/fs/cgroup", c"/sys/fs/cgroup/unified"] {
        let Ok(dir) = sys::openat(sys::CWD, path, k::O_RDONLY | k::O_DIRECTORY, 0) else {
            continue;
        };
        // Only cgroup2 directories have cgroup.subtree_control; a read-only mount says EROFS.
        if sys::access_writable(&dir, c"cgroup.subtree_control").is_ok() {
            return Ok(dir);
        }
    }
    let context = sys::fsopen(c"cgroup2").context("opening the cgroup2 hierarchy", b"")?;
    sys::fsconfig_create(&context).context("opening the cgroup2 hierarchy", b"")?;
    sys::fsmount(&context, 0).context("opening the cgroup2 hierarchy", b"")
}

/// Writes `+controller` into `cgroup.subtree_control` of `dir` for each wanted controller
/// that is not enabled there yet.
fn enable(dir: &Fd, wanted: &[&'static [u8]]) -> Result<()> {
    let mut buf = [0u8; READ_MAX];
    for &controller in wanted {
        let enabled = read_file(dir, c"cgroup.subtree_control", &mut buf).unwrap_or(b"");
        if has_word(enabled, controller) {
            continue;
        }
        let mut line = Line::new();
        line.str("+").push(controller);
        write_file(dir, c"cgroup.subtree_control", line.as_bytes()).map_err(|e| {
            let e = Error::sys("enabling the controller", controller, e);
            if e.errno == Some(Errno::EBUSY) {
                e.hint(
                    "a cgroup on the way to the container's holds processes of its own \
                     (no-internal-processes rule)",
                )
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// Removes the cgroups below the parent that bear tinyjail's mark and whose tinyjail is
/// gone. In tinyjail's own parent also the empty ones without a mark that no tinyjail
/// holds: a run killed between making its cgroup and marking it leaves one. Processes
/// are killed only in marked cgroups: any other cgroup's are somebody else's.
fn sweep_stale(parent: &Fd, own_parent: bool) {
    for_each_subdir(parent, |name| {
        remove_if_stale(parent, name, own_parent);
    });
}

/// The value of `--id` as given, for error lines (a random ID is never taken already).
fn id_option(slots: &Slots) -> &'static [u8] {
    let mut tokens = Tokens::new();
    while let Ok(Some(t)) = tokens.next_token(slots) {
        if t.opt == Opt::Id {
            return t.value;
        }
    }
    b""
}

/// The directory the container's cgroup is made in, and what of its path one run made.
struct Parent {
    dir: Fd,
    path: &'static [u8],
    /// How many components of `path` lie above `dir`.
    depth: usize,
    /// How many of those, counted from `dir` up, this run made: removed again after it.
    made: usize,
}

impl Drop for Parent {
    /// Removes the components this run made, deepest first, and stops at the first that
    /// is not empty (another container or program uses it now).
    fn drop(&mut self) {
        for up in 0..self.made {
            let Some(component) = components(self.path).nth(self.depth - 1 - up) else {
                return;
            };
            let Ok(above) = sys::openat(self.dir.dir(), c"..", k::O_RDONLY | k::O_DIRECTORY, 0)
            else {
                return;
            };
            let name = c_name(component);
            let name = CStr::from_bytes_until_nul(&name).unwrap_or(c"");
            if sys::rmdirat(above.dir(), name).is_err() {
                return;
            }
            self.dir = above;
        }
    }
}

/// The non-empty components of a cgroup path.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// What [`remove_if_stale`] found at `parent/name`.
enum Leftover {
    /// Removed, or not there (any more).
    Gone,
    /// Marked as tinyjail's and locked: a running container's.
    InUse,
    /// Somebody else's, left as it is.
    Foreign,
}

/// Removes `parent/name` if it is a killed run's leftover: marked as tinyjail's and
/// unlocked (its processes are killed first), or, in tinyjail's own parent, unmarked but
/// empty and unlocked (a run killed between making its cgroup and marking it leaves one;
/// the kernel refuses to remove a cgroup with processes or sub-cgroups). Opened once:
/// every start looks at every cgroup in its parent.
fn remove_if_stale(parent: &Fd, name: &CStr, own_parent: bool) -> Leftover {
    let Ok(dir) = sys::openat(parent.dir(), name, k::O_RDONLY | k::O_DIRECTORY, 0) else {
        return Leftover::Gone;
    };
    let mut mark = [0u8; 1];
    let marked = sys::fgetxattr(&dir, MARK, &mut mark) == Ok(1) && mark == *b"1";
    let free = sys::flock(&dir, Lock::TryExclusive).is_ok();
    match (marked, free) {
        (true, true) => {
            let _ = remove_tree(parent, name, 0, true);
            Leftover::Gone
        }
        (true, false) => Leftover::InUse,
        (false, true) if own_parent && sys::rmdirat(parent.dir(), name).is_ok() => Leftover::Gone,
        (false, _) => Leftover::Foreign,
    }
}

/// Kills every process in `parent/name` and below, then removes the sub-cgroups and the
/// cgroup itself, deepest first.
fn remove_tree(parent: &Fd, name: &CStr, depth: usize, kill_file: bool) -> sys::Result<()> {
    let dir = sys::openat(parent.dir(), name, k::O_RDONLY | k::O_DIRECTORY, 0)?;
    if depth == 0 {
        kill_all(&dir, kill_file);
    }
    if depth < DEPTH_MAX {
        for_each_subdir(&dir, |child| {
            let _ = remove_tree(&dir, child, depth + 1, kill_file);
        });
    }
    let mut tries = 0;
    loop {
        match sys::rmdirat(parent.dir(), name) {
            Err(Errno::EBUSY) if tries < REMOVE_TRIES => {
                // The last processes are still on their way out.
                if tries % 100 == 99 {
                    kill_all(&dir, kill_file);
                }
                tries += 1;
                sys::sleep_micros(REMOVE_PAUSE_MICROS);
            }
            Err(Errno::ENOENT) => return Ok(()),
            other => return other,
        }
    }
}

/// `cgroup.kill` (Linux 5.14), else SIGKILL to every process listed in `cgroup.procs`
/// here and below, a few rounds (a process may fork while the list is read).
fn kill_all(dir: &Fd, kill_file: bool) {
    if kill_file && write_file(dir, c"cgroup.kill", b"1").is_ok() {
        return;
    }
    for _ in 0..8 {
        if kill_listed(dir, 0) == 0 {
            return;
        }
    }
}

fn kill_listed(dir: &Fd, depth: usize) -> usize {
    let mut buf = [0u8; READ_MAX];
    let mut killed = 0;
    if let Ok(procs) = sys::openat(dir.dir(), c"cgroup.procs", k::O_RDONLY, 0) {
        // A long list is read in pieces; a number cut at a piece's end is read again whole
        // in the next round.
        while let Ok(n) = sys::read(&procs, &mut buf) {
            if n == 0 {
                break;
            }
            for pid in buf[..n].split(|&b| b == b'\n').filter_map(number) {
                let _ = sys::kill(pid as u32, k::SIGKILL);
                killed += 1;
            }
        }
    }
    if depth < DEPTH_MAX {
        for_each_subdir(dir, |child| {
            if let Ok(sub) = sys::openat(dir.dir(), child, k::O_RDONLY | k::O_DIRECTORY, 0) {
                killed += kill_listed(&sub, depth + 1);
            }
        });
    }
    killed
}

/// Calls `f` with the name of every subdirectory of `dir` (not `.` and `..`).
fn for_each_subdir(dir: &Fd, mut f: impl FnMut(&CStr)) {
    for_each_subdir_dyn(dir, &mut f);
}

/// The body of [`for_each_subdir`], once in the binary rather than once per caller.
fn for_each_subdir_dyn(dir: &Fd, f: &mut dyn FnMut(&CStr)) {
    // getdents64 of the same descriptor continues where it stopped: reopen to start over.
    let Ok(list) = sys::openat(dir.dir(), c".", k::O_RDONLY | k::O_DIRECTORY, 0) else {
        return;
    };
    let mut buf = [0u8; 2048];
    while let Ok(n) = sys::getdents(&list, &mut buf) {
        if n == 0 {
            break;
        }
        let mut at = 0;
        // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name (NUL-ended).
        while at + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen < 19 || at + reclen > n {
                break;
            }
            let kind = buf[at + 18];
            let name = CStr::from_bytes_until_nul(&buf[at + 19..at + reclen]).unwrap_or(c".");
            if kind == DT_DIR && name != c"." && name != c".." {
                f(name);
            }
            at += reclen;
        }
    }
}

/// `DT_DIR` of `struct linux_dirent64`.
const DT_DIR: u8 = 4;

/// Opens `dir/name`, making it first where it is missing; true when it was made.
fn open_or_make(dir: &Fd, name: &CStr) -> sys::Result<(Fd, bool)> {
    let made = match sys::mkdirat(dir.dir(), name, 0o755) {
        Ok(()) => true,
        Err(Errno::EEXIST) => false,
        Err(e) => return Err(e),
    };
    let flags = k::O_RDONLY | k::O_DIRECTORY | k::O_NOFOLLOW;
    Ok((sys::openat(dir.dir(), name, flags, 0)?, made))
}

fn write_file(dir: &Fd, file: &CStr, content: &[u8]) -> sys::Result<()> {
    let fd = sys::openat(dir.dir(), file, k::O_WRONLY, 0)?;
    sys::write_fd(&fd, content)
}

fn read_file<'b>(dir: &Fd, file: &CStr, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let fd = sys::openat(dir.dir(), file, k::O_RDONLY, 0).ok()?;
    let n = sys::read(&fd, buf).ok()?;
    Some(&buf[..n])
}

/// A name as a NUL-terminated buffer (cgroup and file names are short; longer ones are cut
/// and then simply not found).
fn c_name(name: &[u8]) -> [u8; 256] {
    let mut out = [0u8; 256];
    let n = name.len().min(255);
    out[..n].copy_from_slice(&name[..n]);
    out
}

/// `memory` of `memory.max=64M`.
pub fn controller_of(option: &[u8]) -> &[u8] {
    let end = option
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(option.len());
    &option[..end]
}

/// Whether the space-separated list holds `word`.
fn has_word(list: &[u8], word: &[u8]) -> bool {
    list.split(|&b| b == b' ' || b == b'\n').any(|w| w == word)
}

/// The value of `key` in a `key value` per line file (cpu.stat, memory.events).
fn field(text: &[u8], key: &[u8]) -> Option<u64> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(b" ")?;
        number(rest)
    })
}

/// A decimal number, ignoring surrounding white space.
fn number(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controllers_and_words() {
        assert_eq!(controller_of(b"memory.max=64M"), b"memory");
        assert_eq!(controller_of(b"cpu.max=1 2"), b"cpu");
        assert!(has_word(b"cpuset cpu io memory pids\n", b"cpu"));
        assert!(!has_word(b"cpuset io\n", b"cpu"));
    }

    #[test]
    fn fields() {
        let stat = b"usage_usec 1234\nuser_usec 1000\nthrottled_usec 7\n";
        assert_eq!(field(stat, b"usage_usec"), Some(1234));
        assert_eq!(field(stat, b"throttled_usec"), Some(7));
        assert_eq!(field(stat, b"usec"), None);
        assert_eq!(field(b"low 0\noom_kill 2\n", b"oom_kill"), Some(2));
        assert_eq!(number(b"4096\n"), Some(4096));
        assert_eq!(number(b"max\n"), None);
        assert_eq!(number(b"99999999999999999999999"), None);
    }
}
