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

/// The errors tinyjail can meet: for each, its number as one byte, its name, a space, its
/// text (glibc's wording) and a NUL. The numbers are the generic ones that x86_64, arm,
/// aarch64 and riscv64 share (all below 128). One string rather than a table of `&str`s,
/// whose pointers and lengths would cost 32 bytes an entry; and rather than the `syscalls`
/// crate's full table, which costs some 5 KB of the binary.
const ERRNOS: &str = concat!(
    "\x01EPERM Operation not permitted\0",
    "\x02ENOENT No such file or directory\0",
    "\x03ESRCH No such process\0",
    "\x04EINTR Interrupted system call\0",
    "\x05EIO Input/output error\0",
    "\x06ENXIO No such device or address\0",
    "\x07E2BIG Argument list too long\0",
    "\x08ENOEXEC Exec format error\0",
    "\x09EBADF Bad file descriptor\0",
    "\x0aECHILD No child processes\0",
    "\x0bEAGAIN Resource temporarily unavailable\0",
    "\x0cENOMEM Cannot allocate memory\0",
    "\x0dEACCES Permission denied\0",
    "\x0eEFAULT Bad address\0",
    "\x10EBUSY Device or resource busy\0",
    "\x11EEXIST File exists\0",
    "\x12EXDEV Invalid cross-device link\0",
    "\x13ENODEV No such device\0",
    "\x14ENOTDIR Not a directory\0",
    "\x15EISDIR Is a directory\0",
    "\x16EINVAL Invalid argument\0",
    "\x17ENFILE Too many open files in system\0",
    "\x18EMFILE Too many open files\0",
    "\x19ENOTTY Inappropriate ioctl for device\0",
    "\x1aETXTBSY Text file busy\0",
    "\x1bEFBIG File too large\0",
    "\x1cENOSPC No space left on device\0",
    "\x1eEROFS Read-only file system\0",
    "\x1fEMLINK Too many links\0",
    "\x20EPIPE Broken pipe\0",
    "\x22ERANGE Numerical result out of range\0",
    "\x23EDEADLK Resource deadlock avoided\0",
    "\x24ENAMETOOLONG File name too long\0",
    "\x26ENOSYS Function not implemented\0",
    "\x27ENOTEMPTY Directory not empty\0",
    "\x28ELOOP Too many levels of symbolic links\0",
    "\x3dENODATA No data available\0",
    "\x47EPROTO Protocol error\0",
    "\x4aEBADMSG Bad message\0",
    "\x4bEOVERFLOW Value too large for defined data type\0",
    "\x57EUSERS Too many users\0",
    "\x5aEMSGSIZE Message too long\0",
    "\x5dEPROTONOSUPPORT Protocol not supported\0",
    "\x5fEOPNOTSUPP Operation not supported\0",
    "\x61EAFNOSUPPORT Address family not supported by protocol\0",
    "\x62EADDRINUSE Address already in use\0",
    "\x63EADDRNOTAVAIL Cannot assign requested address\0",
    "\x64ENETDOWN Network is down\0",
    "\x65ENETUNREACH Network is unreachable\0",
    "\x69ENOBUFS No buffer space available\0",
    "\x6eETIMEDOUT Connection timed out\0",
    "\x6fECONNREFUSED Connection refused\0",
    "\x71EHOSTUNREACH No route to host\0",
    "\x74ESTALE Stale file handle\0",
    "\x7aEDQUOT Disk quota exceeded\0",
);

/// The name and text of an errno from [`ERRNOS`].
fn errno_entry(number: i32) -> Option<(&'static [u8], &'static [u8])> {
    let entry = ERRNOS
        .as_bytes()
        .split(|&b| b == 0)
        .find(|entry| entry.first().is_some_and(|&n| i32::from(n) == number))?;
    // From the second byte: the number itself may be a space (EPIPE is 32).
    let (name, text) = entry[1..].split_at(entry[1..].iter().position(|&b| b == b' ')?);
    Some((name, &text[1..]))
}

/// `No such file or directory (ENOENT)`.
pub fn write_errno(line: &mut Line, errno: Errno) {
    let number = errno.into_raw();
    match errno_entry(number) {
        Some((name, text)) => {
            line.push(text).str(" (").push(name).str(")");
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
        let numbers: Vec<u8> = ERRNOS
            .as_bytes()
            .split(|&b| b == 0)
            .filter(|e| !e.is_empty())
            .map(|e| e[0])
            .collect();
        assert!(numbers.len() > 50);
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        for n in numbers {
            assert!((1..128).contains(&n));
            let (name, text) = errno_entry(i32::from(n)).unwrap();
            let (kernel_name, _) = Errno::new(i32::from(n)).name_and_description().unwrap();
            assert_eq!(name, kernel_name.as_bytes());
            assert!(!text.is_empty() && !text.contains(&0));
        }
        assert_eq!(errno_entry(0), None);
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
