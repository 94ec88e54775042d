//! The error value: what tinyjail was doing, on which object, and why it failed.
//!
//! Printed as one line, `tinyjail: <doing> <object>: <errno text> (<ERRNO>); <hint>`, or
//! `tinyjail: <doing> <object>: <detail>` for input that tinyjail itself refuses.

use core::sync::atomic::{AtomicU8, Ordering};

use crate::output::Line;
use crate::sys::Errno;

/// Exit status for tinyjail's own failures, bad usage included.
pub const STATUS_FAILED: u8 = 125;
/// Exit status when COMMAND was found but could not be executed.
pub const STATUS_NOT_EXECUTABLE: u8 = 126;
/// Exit status when COMMAND was not found.
pub const STATUS_NOT_FOUND: u8 = 127;

/// A failure, small and copyable so that it can be returned through every layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// What tinyjail was doing, e.g. "mounting proc on".
    pub doing: &'static str,
    /// The object: a path, option value, interface or file name. May be empty.
    pub object: &'static [u8],
    /// The kernel's error, if the failure came from a system call.
    pub errno: Option<Errno>,
    /// What the user should know besides the errno, or why the input is refused.
    pub detail: &'static str,
    /// The exit status this failure gives.
    pub status: u8,
    /// Whether the kernel sent words of its own with the error (see [`NOTE`]).
    pub noted: bool,
}

/// Longest kernel message kept for an error.
pub const NOTE_MAX: usize = 120;

/// The kernel's own words about the last failure that has them (a netlink extended
/// acknowledgement). Kept apart from [`Error`], which is copied through every layer and so
/// stays small; tinyjail is single-threaded, and a child process has its own copy.
static NOTE: [AtomicU8; NOTE_MAX] = [const { AtomicU8::new(0) }; NOTE_MAX];
static NOTE_LEN: AtomicU8 = AtomicU8::new(0);

fn store_note(text: &[u8]) {
    let len = text.len().min(NOTE_MAX);
    for (slot, &b) in NOTE.iter().zip(&text[..len]) {
        slot.store(b, Ordering::Relaxed);
    }
    NOTE_LEN.store(len as u8, Ordering::Relaxed);
}

fn write_note(line: &mut Line) {
    let len = NOTE_LEN.load(Ordering::Relaxed) as usize;
    for slot in &NOTE[..len.min(NOTE_MAX)] {
        line.escaped(&[slot.load(Ordering::Relaxed)]);
    }
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// A system call failed while doing `doing` to `object`.
    pub const fn sys(doing: &'static str, object: &'static [u8], errno: Errno) -> Self {
        Error {
            doing,
            object,
            errno: Some(errno),
            detail: "",
            status: STATUS_FAILED,
            noted: false,
        }
    }

    /// Input refused by tinyjail: `detail` says what is wrong with `object`.
    pub const fn input(doing: &'static str, object: &'static [u8], detail: &'static str) -> Self {
        Error {
            doing,
            object,
            errno: None,
            detail,
            status: STATUS_FAILED,
            noted: false,
        }
    }

    /// Adds the hint a user needs where the errno alone would mislead.
    pub const fn hint(mut self, detail: &'static str) -> Self {
        self.detail = detail;
        self
    }

    /// Adds the kernel's own words about the failure.
    pub fn with_note(mut self, text: &[u8]) -> Self {
        store_note(text);
        self.noted = true;
        self
    }

    pub const fn with_status(mut self, status: u8) -> Self {
        self.status = status;
        self
    }

    /// The whole report line, without the trailing newline.
    pub fn write_to(&self, line: &mut Line) {
        line.str("tinyjail: ").str(self.doing);
        if !self.object.is_empty() {
            // A value longer than this is cut, so that the reason always fits on the line.
            const SHOWN_MAX: usize = 256;
            line.str(" ")
                .escaped(&self.object[..self.object.len().min(SHOWN_MAX)]);
            if self.object.len() > SHOWN_MAX {
                line.str("...");
            }
            line.str(": ");
        } else if self.errno.is_some() {
            line.str(": ");
        } else {
            line.str(" ");
        }
        match self.errno {
            Some(errno) => {
                write_errno(line, errno);
                if self.noted {
                    line.str(": the kernel says: ");
                    write_note(line);
                }
                if !self.detail.is_empty() {
                    line.str("; ").str(self.detail);
                }
            }
            None => {
                line.str(self.detail);
            }
        }
    }

    /// Prints the report line on stderr.
    pub fn report(&self) {
        let mut line = Line::new();
        self.write_to(&mut line);
        line.to_stderr();
    }
}

/// The errors tinyjail can meet, by number: name and text (glibc's wording). The numbers
/// are the generic ones that x86_64, arm, aarch64 and riscv64 share. Kept here rather than
/// taken from the `syscalls` crate's full table, which costs some 5 KB of the binary.
const ERRNOS: &[(u8, &str, &str)] = &[
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (4, "EINTR", "Interrupted system call"),
    (5, "EIO", "Input/output error"),
    (6, "ENXIO", "No such device or address"),
    (7, "E2BIG", "Argument list too long"),
    (8, "ENOEXEC", "Exec format error"),
    (9, "EBADF", "Bad file descriptor"),
    (10, "ECHILD", "No child processes"),
    (11, "EAGAIN", "Resource temporarily unavailable"),
    (12, "ENOMEM", "Cannot allocate memory"),
    (13, "EACCES", "Permission denied"),
    (14, "EFAULT", "Bad address"),
    (16, "EBUSY", "Device or resource busy"),
    (17, "EEXIST", "File exists"),
    (18, "EXDEV", "Invalid cross-device link"),
    (19, "ENODEV", "No such device"),
    (20, "ENOTDIR", "Not a directory"),
    (21, "EISDIR", "Is a directory"),
    (22, "EINVAL", "Invalid argument"),
    (23, "ENFILE", "Too many open files in system"),
    (24, "EMFILE", "Too many open files"),
    (26, "ETXTBSY", "Text file busy"),
    (27, "EFBIG", "File too large"),
    (28, "ENOSPC", "No space left on device"),
    (30, "EROFS", "Read-only file system"),
    (31, "EMLINK", "Too many links"),
    (32, "EPIPE", "Broken pipe"),
    (34, "ERANGE", "Numerical result out of range"),
    (35, "EDEADLK", "Resource deadlock avoided"),
    (36, "ENAMETOOLONG", "File name too long"),
    (38, "ENOSYS", "Function not implemented"),
    (39, "ENOTEMPTY", "Directory not empty"),
    (40, "ELOOP", "Too many levels of symbolic links"),
    (61, "ENODATA", "No data available"),
    (74, "EBADMSG", "Bad message"),
    (75, "EOVERFLOW", "Value too large for defined data type"),
    (87, "EUSERS", "Too many users"),
    (90, "EMSGSIZE", "Message too long"),
    (93, "EPROTONOSUPPORT", "Protocol not supported"),
    (95, "EOPNOTSUPP", "Operation not supported"),
    (
        97,
        "EAFNOSUPPORT",
        "Address family not supported by protocol",
    ),
    (98, "EADDRINUSE", "Address already in use"),
    (99, "EADDRNOTAVAIL", "Cannot assign requested address"),
    (100, "ENETDOWN", "Network is down"),
    (101, "ENETUNREACH", "Network is unreachable"),
    (105, "ENOBUFS", "No buffer space available"),
    (110, "ETIMEDOUT", "Connection timed out"),
    (113, "EHOSTUNREACH", "No route to host"),
    (116, "ESTALE", "Stale file handle"),
    (122, "EDQUOT", "Disk quota exceeded"),
];

/// `No such file or directory (ENOENT)`.
pub fn write_errno(line: &mut Line, errno: Errno) {
    let number = errno.into_raw();
    match ERRNOS.iter().find(|(n, _, _)| i32::from(*n) == number) {
        Some((_, name, text)) => {
            line.str(text).str(" (").str(name).str(")");
        }
        None => {
            line.str("error ").number(number as u64);
        }
    }
}

/// Turns a system call's `Errno` into an [`Error`] that names the step and the object.
pub trait Context<T> {
    fn context(self, doing: &'static str, object: &'static [u8]) -> Result<T>;
}

impl<T> Context<T> for core::result::Result<T, Errno> {
    fn context(self, doing: &'static str, object: &'static [u8]) -> Result<T> {
        self.map_err(|errno| Error::sys(doing, object, errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: Error) -> String {
        let mut l = Line::new();
        e.write_to(&mut l);
        String::from_utf8(l.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn system_error_line() {
        let e = Error::sys("opening root", b"/srv/r", Errno::ENOENT);
        assert_eq!(
            text(e),
            "tinyjail: opening root /srv/r: No such file or directory (ENOENT)"
        );
    }

    #[test]
    fn hint_follows_errno() {
        let e = Error::sys("mounting proc on", b"/proc", Errno::EPERM).hint("a hint");
        assert_eq!(
            text(e),
            "tinyjail: mounting proc on /proc: Operation not permitted (EPERM); a hint"
        );
    }

    #[test]
    fn kernel_note_follows_errno() {
        let e = Error::sys("adding address", b"10.0.0.1/33", Errno::EINVAL)
            .with_note(b"ipv4: Invalid prefix length");
        assert_eq!(
            text(e),
            "tinyjail: adding address 10.0.0.1/33: Invalid argument (EINVAL): \
             the kernel says: ipv4: Invalid prefix length"
        );
    }

    #[test]
    fn errno_table_is_sorted_and_matches_the_kernel_numbers() {
        assert!(ERRNOS.windows(2).all(|w| w[0].0 < w[1].0));
        for (n, name, _) in ERRNOS {
            let (kernel_name, _) = Errno::new(i32::from(*n)).name_and_description().unwrap();
            assert_eq!(kernel_name, *name);
        }
        let mut l = Line::new();
        write_errno(&mut l, Errno::new(200));
        assert_eq!(l.as_bytes(), b"error 200");
    }

    #[test]
    fn input_error_line() {
        let e = Error::input("--id", b"a/b", "must be 1 to 12 characters");
        assert_eq!(text(e), "tinyjail: --id a/b: must be 1 to 12 characters");
        assert_eq!(e.status, STATUS_FAILED);
    }
}
