//! Shared harness for the black-box tests: the built binary, test roots, bounded waits, and
//! the leak check that every test ends with.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{lchown, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The tinyjail binary under test.
pub fn tinyjail() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tinyjail"));
    c.stdin(Stdio::null());
    c
}

/// The unprivileged owner of the test roots: root inside the container.
pub const OWNER: u32 = 1000;

/// True when the tests run as root (they need it to create namespaces for another user).
pub fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Skips the calling test (returns early) when not running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs root to create the container's namespaces");
            return;
        }
    };
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory for this test binary, removed and made anew for each name.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("tj-tests")
        .join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Makes a fresh busybox root at `dir`, owned by `owner`.
pub fn make_busybox_root(dir: &Path, owner: u32) {
    let status = Command::new(repo().join("scripts/busybox-root"))
        .arg(dir)
        .arg(format!("{owner}:{owner}"))
        .stdout(Stdio::null())
        .status()
        .expect("running scripts/busybox-root");
    assert!(status.success(), "scripts/busybox-root failed");
}

/// The root of [`shared_root`], once made.
static SHARED_ROOT: OnceLock<PathBuf> = OnceLock::new();

/// One busybox root shared by the tests that only read it.
pub fn shared_root() -> &'static Path {
    SHARED_ROOT.get_or_init(|| {
        let dir = scratch(&format!("shared-root-{}", std::process::id()));
        make_busybox_root(&dir, OWNER);
        dir
    })
}

/// A busybox root of the test's own, for tests that change it.
pub fn own_root(name: &str) -> PathBuf {
    let dir = scratch(name);
    make_busybox_root(&dir, OWNER);
    dir
}

/// Gives a path (not following links) to `owner`.
pub fn chown(path: &Path, owner: u32) {
    lchown(path, Some(owner), Some(owner)).unwrap();
}

/// Runs tinyjail with `args` and returns its output. Without an `--id` among them: for runs
/// refused while the command line is parsed, before anything is made; all others run
/// through a [`LeakCheck`].
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    output(tinyjail().args(args))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a successful run and returns its stdout.
pub fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Asserts tinyjail's own failure: exit 125 and exactly one `tinyjail: ` line on stderr
/// that contains `expected`.
pub fn refused(o: &Output, expected: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(125), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("tinyjail: "), "{err:?}");
    assert!(
        err.contains(expected),
        "{err:?} should contain {expected:?}"
    );
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
}

/// Where the host shows its cgroup2 hierarchy (read only; tinyjail mounts its own where
/// there is none). On the test machines' hybrid hosts: /sys/fs/cgroup/unified.
pub fn hierarchy() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let dash = fields.iter().position(|f| *f == "-")?;
        (fields.get(dash + 1) == Some(&"cgroup2")).then(|| PathBuf::from(fields[4]))
    })
}

/// Waits until a container started with a script that begins `echo ready` has printed it:
/// from then on it runs its command.
pub fn wait_ready(child: &mut Child) {
    let mut ready = [0u8; 6];
    child
        .stdout
        .as_mut()
        .expect("stdout piped")
        .read_exact(&mut ready)
        .expect("reading the ready line");
    assert_eq!(&ready, b"ready\n");
}

/// The host PIDs of the children of `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The state letter of a process (`R`, `S`, `Z`, ...); `None` once it is gone.
pub fn state_of(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Gone, or a zombie waiting for its new parent to reap it: either way it runs no more.
pub fn is_dead(pid: u32) -> bool {
    matches!(state_of(pid), None | Some('Z') | Some('X'))
}

/// Waits up to `limit` for `check` to hold; says whether it did.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded waits
// ---------------------------------------------------------------------------------------------

/// How long one run of tinyjail may take before the test gives up on it: far more than any
/// run here needs on two busy cores. It only keeps a hung tinyjail from hanging the suite.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// `Child::wait_with_output` with a deadline: waits for `child` to end and its piped stdout
/// and stderr to close, at most [`DEADLINE`]. Past it, kills the child (SIGKILL) and fails
/// the test with what it printed.
pub fn wait_bounded(mut child: Child) -> Output {
    // Each pipe is read on a thread of its own, so that a full pipe never blocks the child,
    // into a buffer that can still be shown when the child has to be killed.
    fn drain(
        pipe: Option<impl Read + Send + 'static>,
    ) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let filled = Arc::clone(&bytes);
        let reader = thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut chunk = [0u8; 4096];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => filled.lock().unwrap().extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        (bytes, reader)
    }
    let taken = |pipe: &Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *pipe.lock().unwrap());

    let (out, out_reader) = drain(child.stdout.take());
    let (err, err_reader) = drain(child.stderr.take());
    let deadline = Instant::now() + DEADLINE;
    let mut pause = Duration::from_millis(1);
    let mut status = None;
    loop {
        if status.is_none() {
            status = child.try_wait().expect("waiting for the child");
        }
        if let Some(status) = status {
            if out_reader.is_finished() && err_reader.is_finished() {
                return Output {
                    status,
                    stdout: taken(&out),
                    stderr: taken(&err),
                };
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let what = match status {
                Some(_) => "exited, but its stdout or stderr was still open",
                None => "still ran",
            };
            panic!(
                "process {} {what} after {DEADLINE:?}; killed it. stdout {:?} stderr {:?}",
                child.id(),
                String::from_utf8_lossy(&taken(&out)),
                String::from_utf8_lossy(&taken(&err))
            );
        }
        // Short pauses first: most runs take milliseconds.
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// `Command::output` bounded like [`wait_bounded`]. Unlike `Command::output`, leaves stdin
/// as the command has it ([`tinyjail`] sets /dev/null).
pub fn output(command: &mut Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the command");
    wait_bounded(child)
}

// ---------------------------------------------------------------------------------------------
// Leak check
// ---------------------------------------------------------------------------------------------

/// How long a container killed a moment ago may take to die: its first process gets a
/// parent-death signal, the rest go with their PID namespace, a veth with its network
/// namespace. As in scripts/leak-check.
pub const GRACE: Duration = Duration::from_secs(5);

/// The host's mount table, one line a mount, without the mount and parent IDs (they say
/// nothing about what is mounted).
pub fn mounts() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Whether something is mounted on `dir` itself.
pub fn is_mount_point(dir: &Path) -> bool {
    let dir = dir.to_string_lossy();
    mounts()
        .iter()
        .any(|l| l.split_whitespace().nth(2) == Some(dir.as_ref()))
}

/// Whether `text` (a mount table field, an argument) names `path` or something below it.
fn names(text: &str, path: &Path) -> bool {
    let path = path.to_string_lossy();
    text.match_indices(path.as_ref()).any(|(at, _)| {
        let rest = &text[at + path.len()..];
        rest.is_empty() || rest.starts_with(['/', ' ', '\'', '"'])
    })
}

/// A host directory with a marker file, and everything about them that a write from a
/// container could change: the directory's listing, each entry's mode, owner, mtime and
/// content.
pub struct Marker {
    pub dir: PathBuf,
    pub taken: Vec<String>,
}

impl Marker {
    pub const FILE: &'static str = "host-marker-5b1e";

    /// A new scratch directory `name` with the marker file in it.
    pub fn new(name: &str) -> Marker {
        Marker::at(scratch(name))
    }

    /// Writes the marker file into `dir` and takes the description.
    pub fn at(dir: PathBuf) -> Marker {
        fs::write(dir.join(Self::FILE), "written by the host\n").unwrap();
        let taken = Self::describe(&dir);
        Marker { dir, taken }
    }

    pub fn describe(dir: &Path) -> Vec<String> {
        let line = |name: &str, meta: &fs::Metadata, content: &[u8]| {
            format!(
                "{name} dev={} ino={} mode={:o} uid={} mtime={}.{} content={:?}",
                meta.dev(),
                meta.ino(),
                meta.mode(),
                meta.uid(),
                meta.mtime(),
                meta.mtime_nsec(),
                String::from_utf8_lossy(content)
            )
        };
        let meta = match fs::symlink_metadata(dir) {
            Ok(meta) => meta,
            Err(e) => return vec![format!("{}: {e}", dir.display())],
        };
        let mut out = vec![line(".", &meta, b"")];
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let meta = fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_file() {
                fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.push(line(&name.to_string_lossy(), &meta, &content));
        }
        out
    }

    /// What changed about the directory, if anything did.
    pub fn changes(&self) -> Option<String> {
        let now = Self::describe(&self.dir);
        if now != self.taken {
            return Some(format!(
                "host directory {} changed: {:#?} -> {now:#?}",
                self.dir.display(),
                self.taken
            ));
        }
        is_mount_point(&self.dir).then(|| format!("something is mounted on {}", self.dir.display()))
    }

    pub fn assert_untouched(&self, what: &str) {
        if let Some(change) = self.changes() {
            panic!("{what}: {change}");
        }
    }
}

/// A directory of the test's own, and the identity it had when it was watched.
struct Watched {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

/// What one test may not leave behind on the host, checked when it is dropped at the end of
/// the test (unless the test failed already) or by [`LeakCheck::assert_nothing_left`].
/// Scoped to the test's own objects, so that tests running at the same time, here or
/// elsewhere, cannot disturb it:
///
/// - container IDs: every ID the test gives out ([`LeakCheck::id`]) starts with a prefix of
///   this check alone. No cgroup so named may be left below `<hierarchy>/tinyjail` (or a
///   `--cgroup-parent` the test names), no live process may be in one, and no tinyjail
///   given such an ID may still run.
/// - directories: nothing may be mounted on or below the shared root or a directory the
///   test watches ([`LeakCheck::watch`], its own roots), and no live process may have a
///   watched directory as its root or name it on its command line.
/// - a marker file of its own, outside every root, stays untouched.
/// - with [`LeakCheck::whole_mount_table`], for tests that hold their file's mount-table
///   lock or run where no other test mounts: the host's mount table is exactly as it was.
///
/// Processes may take [`GRACE`] to die; the rest must hold at once. The veths are checked by
/// the network tests' `TestHost`, in the test's own network namespace.
pub struct LeakCheck {
    prefix: String,
    ids_given: Cell<u32>,
    watched: RefCell<Vec<Watched>>,
    cgroup_parents: Vec<String>,
    mount_table: Option<Vec<String>>,
    marker: Marker,
}

/// `n` in base 36, at least `width` digits.
fn base36(mut n: u32, width: usize) -> String {
    let mut digits = Vec::new();
    while n > 0 || digits.len() < width {
        digits.push(char::from_digit(n % 36, 36).unwrap());
        n /= 36;
    }
    digits.iter().rev().collect()
}

impl LeakCheck {
    pub fn start() -> LeakCheck {
        // This process's PID and a count of the checks it started, in base 36, then a dash:
        // no other check's prefix starts an ID given out here. At most 5 + 2 + 1 characters
        // (pid_max is at most 2^22), leaving 4 of the 12 an ID may have.
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{}{}-", base36(std::process::id(), 1), base36(n, 2));
        let marker = Marker::new(&format!("{prefix}marker"));
        LeakCheck {
            prefix,
            ids_given: Cell::new(0),
            watched: RefCell::new(Vec::new()),
            cgroup_parents: Vec::new(),
            mount_table: None,
            marker,
        }
    }

    /// Also checks that the host's whole mount table is as it is now, less the mounts that
    /// tests make and remove themselves: the network namespaces that `ip netns` pins under
    /// /run/netns, and the propagation test's shared tmpfs (it checks what is below it).
    pub fn whole_mount_table(mut self) -> LeakCheck {
        self.mount_table = Some(comparable(mounts()));
        self
    }

    /// Also checks the cgroup-parent `parent` (as `--cgroup-parent` takes it) for cgroups of
    /// this test.
    pub fn cgroup_parent(mut self, parent: &str) -> LeakCheck {
        self.cgroup_parents.push(parent.to_owned());
        self
    }

    /// Watches `dir`, a root or directory of this test's own, and gives it back.
    pub fn watch(&self, dir: PathBuf) -> PathBuf {
        let meta = fs::metadata(&dir).unwrap();
        self.watched.borrow_mut().push(Watched {
            path: dir.clone(),
            dev: meta.dev(),
            ino: meta.ino(),
        });
        dir
    }

    /// A new container ID of this test.
    pub fn id(&self) -> String {
        let n = self.ids_given.replace(self.ids_given.get() + 1);
        let id = format!("{}{}", self.prefix, base36(n, 1));
        assert!(id.len() <= 12, "too many IDs for one test: {id}");
        id
    }

    /// [`tinyjail`] with a new ID of this test: `tinyjail --id ID`.
    pub fn tinyjail(&self) -> Command {
        let mut c = tinyjail();
        c.args(["--id", &self.id()]);
        c
    }

    /// [`run`] with a new ID of this test.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        output(self.tinyjail().args(args))
    }

    /// Runs COMMAND in the shared root: `tinyjail --id ID --root ROOT -- COMMAND...`.
    pub fn run_in_root(&self, command: &[&str]) -> Output {
        output(
            self.tinyjail()
                .arg("--root")
                .arg(shared_root())
                .arg("--")
                .args(command),
        )
    }

    /// Starts containers until the empty cgroups that killed tinyjails of this test left
    /// are gone. Each start removes stale cgroups below `/tinyjail`, unless another tinyjail
    /// is making its own there at that moment: a few starts are allowed.
    pub fn sweep(&self) {
        for _ in 0..10 {
            if self.cgroups_left().is_empty() {
                return;
            }
            ok(&self.run_in_root(&["/bin/true"]));
        }
    }

    /// This test's cgroups below `<hierarchy>/tinyjail` and the cgroup parents it named.
    pub fn cgroups_left(&self) -> Vec<String> {
        let Some(h) = hierarchy() else {
            // tinyjail mounts the hierarchy privately; the processes are still checked.
            return Vec::new();
        };
        let parents =
            std::iter::once("/tinyjail").chain(self.cgroup_parents.iter().map(|p| p.as_str()));
        parents
            .flat_map(|parent| {
                fs::read_dir(h.join(parent.trim_start_matches('/')))
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .filter(|e| e.file_name().to_string_lossy().starts_with(&self.prefix))
            .map(|e| e.path().display().to_string())
            .collect()
    }

    /// Live processes of this test: in one of its cgroups, a tinyjail given one of its IDs,
    /// or with a watched directory as root or on the command line.
    pub fn processes_left(&self) -> Vec<String> {
        let me = std::process::id();
        let watched = self.watched.borrow();
        let ours = |id: &str| id.starts_with(&self.prefix);
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if pid == me || is_dead(pid) {
                continue;
            }
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            let root = fs::metadata(format!("/proc/{pid}/root")).ok();
            let why = if let Some(path) = cgroup
                .lines()
                .filter_map(|l| l.strip_prefix("0::"))
                .find(|path| path.split('/').any(ours))
            {
                format!("in cgroup {path}")
            } else if args.windows(2).any(|w| w[0] == "--id" && ours(&w[1]))
                || args
                    .iter()
                    .any(|a| a.strip_prefix("--id=").is_some_and(ours))
            {
                "a tinyjail of this test".to_owned()
            } else if let Some(w) = watched.iter().find(|w| {
                root.as_ref()
                    .is_some_and(|r| (r.dev(), r.ino()) == (w.dev, w.ino))
                    || args.iter().any(|a| names(a, &w.path))
            }) {
                format!("its root or command line is in {}", w.path.display())
            } else {
                continue;
            };
            found.push(format!("{pid} `{}`: {why}", args.join(" ").trim_end()));
        }
        found
    }

    /// Mounts on or below the test's directories, and with [`LeakCheck::whole_mount_table`]
    /// every change to the host's mount table.
    fn mounts_left(&self) -> Vec<String> {
        let now = mounts();
        let mut dirs: Vec<PathBuf> = self
            .watched
            .borrow()
            .iter()
            .map(|w| w.path.clone())
            .collect();
        dirs.extend(SHARED_ROOT.get().cloned());
        let mut found: Vec<String> = now
            .iter()
            .filter(|l| {
                l.split_whitespace()
                    .any(|field| dirs.iter().any(|d| names(field, d)))
            })
            .map(|l| format!("mounted: {l}"))
            .collect();
        if let Some(before) = &self.mount_table {
            let now = comparable(now);
            found.extend(
                now.iter()
                    .filter(|m| !before.contains(m))
                    .map(|m| format!("host mount added: {m}")),
            );
            found.extend(
                before
                    .iter()
                    .filter(|m| !now.contains(m))
                    .map(|m| format!("host mount gone: {m}")),
            );
        }
        found
    }

    /// Fails the test, saying what is left, unless this test left nothing behind (see
    /// [`LeakCheck`]). `when` says where in the test it is checked.
    pub fn assert_nothing_left(&self, when: &str) {
        eventually(GRACE, || self.processes_left().is_empty());
        let mut left: Vec<String> = self
            .processes_left()
            .into_iter()
            .map(|p| format!("process {p}"))
            .collect();
        left.extend(
            self.cgroups_left()
                .into_iter()
                .map(|c| format!("cgroup {c}")),
        );
        left.extend(self.mounts_left());
        left.extend(self.marker.changes());
        assert!(
            left.is_empty(),
            "leak check {when} (container IDs {}*): {left:#?}",
            self.prefix
        );
    }
}

impl Drop for LeakCheck {
    fn drop(&mut self) {
        if thread::panicking() {
            return;
        }
        self.assert_nothing_left("at the end of the test");
        let _ = fs::remove_dir_all(&self.marker.dir);
    }
}

/// The mount table as [`LeakCheck::whole_mount_table`] compares it.
fn comparable(mut mounts: Vec<String>) -> Vec<String> {
    mounts.retain(|l| {
        !l.split_whitespace()
            .nth(2)
            .is_some_and(|at| at.starts_with("/run/netns") || at.contains("/tj-tests/propagation"))
    });
    mounts.sort();
    mounts
}
