//! Shared harness for the black-box tests: the built binary, test roots, and leak checks.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{lchown, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

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

/// One busybox root shared by the tests that only read it.
pub fn shared_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
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

/// Runs tinyjail with `args` and returns its output.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    tinyjail().args(args).output().expect("starting tinyjail")
}

/// Runs COMMAND in the shared root: `tinyjail --root ROOT -- COMMAND...`.
pub fn run_in_root(command: &[&str]) -> Output {
    let root = shared_root();
    let mut args: Vec<&OsStr> = vec!["--root".as_ref(), root.as_os_str(), "--".as_ref()];
    args.extend(command.iter().map(|s| OsStr::new(*s)));
    run(args)
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

/// What a run may not leave behind on the host. Taken before a run, checked after it.
pub struct HostState {
    mounts: Vec<String>,
}

impl HostState {
    pub fn take() -> HostState {
        let mut mounts: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .map(|l| {
                // Drop the mount and parent IDs, which say nothing about what is mounted.
                l.split_whitespace().skip(2).collect::<Vec<_>>().join(" ")
            })
            // Network namespaces that tests (and the benchmark) make and delete themselves.
            .filter(|l| {
                !l.split_whitespace().nth(2).is_some_and(|at| {
                    // Network namespaces that tests (and the benchmark) make and delete,
                    // and the shared tmpfs of the propagation test (it checks its own).
                    at.starts_with("/run/netns") || at.contains("/tj-tests/propagation")
                })
            })
            .collect();
        mounts.sort();
        HostState { mounts }
    }

    /// Asserts the host's mount table is as it was.
    pub fn assert_unchanged(&self) {
        let now = HostState::take();
        let added: Vec<_> = now
            .mounts
            .iter()
            .filter(|m| !self.mounts.contains(m))
            .collect();
        let gone: Vec<_> = self
            .mounts
            .iter()
            .filter(|m| !now.mounts.contains(m))
            .collect();
        assert!(
            added.is_empty() && gone.is_empty(),
            "host mounts changed: +{added:?} -{gone:?}"
        );
    }
}
