//! Running COMMAND: `execve(2)`, with a PATH search inside the container for a command
//! without `/`, and exit statuses that tell "not found" (127) from "cannot run" (126).

use core::ffi::CStr;

use linux_raw_sys::general as k;

use crate::error::{Error, STATUS_NOT_EXECUTABLE, STATUS_NOT_FOUND};
use crate::sys::{self, Errno};

/// Longest path tried, `PATH_MAX` of Linux.
const PATH_MAX: usize = 4096;

const NO_INTERPRETER: &str =
    "the file exists, so its interpreter or dynamic loader is missing in the root";

/// Executes `command` with `argv` and `envp`; returns only the reason it failed.
pub fn exec(command: &'static CStr, argv: &[*const u8], envp: &[*const u8], path: &[u8]) -> Error {
    let name = command.to_bytes();
    if name.contains(&b'/') {
        let errno = sys::execve(command, argv, envp);
        return failure(name, errno, exists(command));
    }

    let mut denied = None;
    for dir in path.split(|&b| b == b':') {
        let mut candidate = heapless::Vec::<u8, PATH_MAX>::new();
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        if candidate.extend_from_slice(dir).is_err()
            || candidate.push(b'/').is_err()
            || candidate.extend_from_slice(name).is_err()
            || candidate.push(0).is_err()
        {
            continue;
        }
        let Ok(candidate) = CStr::from_bytes_with_nul(&candidate) else {
            continue;
        };
        match sys::execve(candidate, argv, envp) {
            Errno::ENOENT if !exists(candidate) => {}
            Errno::ENOTDIR => {}
            Errno::EACCES => denied = Some(Errno::EACCES),
            errno => return failure(name, errno, true),
        }
    }
    match denied {
        Some(errno) => failure(name, errno, true),
        None => Error::sys("executing", name, Errno::ENOENT)
            .hint("not found in the container's PATH")
            .with_status(STATUS_NOT_FOUND),
    }
}

fn failure(name: &'static [u8], errno: Errno, exists: bool) -> Error {
    let e = Error::sys("executing", name, errno);
    match errno {
        Errno::ENOENT if exists => e.hint(NO_INTERPRETER).with_status(STATUS_NOT_EXECUTABLE),
        Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG => e.with_status(STATUS_NOT_FOUND),
        Errno::EACCES if is_dir(name) => e
            .hint("it is a directory")
            .with_status(STATUS_NOT_EXECUTABLE),
        Errno::EACCES => e
            .hint("no execute permission, or the root lies on a noexec mount")
            .with_status(STATUS_NOT_EXECUTABLE),
        _ => e.with_status(STATUS_NOT_EXECUTABLE),
    }
}

/// Whether `name` (as given, resolved from the working directory) is a directory.
fn is_dir(name: &[u8]) -> bool {
    let mut path = heapless::Vec::<u8, PATH_MAX>::new();
    if path.extend_from_slice(name).is_err() || path.push(0).is_err() {
        return false;
    }
    CStr::from_bytes_with_nul(&path)
        .is_ok_and(|p| sys::statx(sys::CWD, p, 0).is_ok_and(|st| st.is_dir()))
}

/// Whether a file exists at `path` (a dangling symlink counts as missing).
fn exists(path: &CStr) -> bool {
    sys::statx(sys::CWD, path, 0).is_ok() || sys::openat(sys::CWD, path, k::O_PATH, 0).is_ok()
}
