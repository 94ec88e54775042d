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
            line.str(" ").escaped(self.object);
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

/// `No such file or directory (ENOENT)`.
pub fn write_errno(line: &mut Line, errno: Errno) {
    match errno.name_and_description() {
        Some((name, text)) => {
            line.str(text).str(" (").str(name).str(")");
        }
        None => {
            line.str("error ").number(errno.into_raw() as u64);
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
    fn input_error_line() {
        let e = Error::input("--id", b"a/b", "must be 1 to 12 characters");
        assert_eq!(text(e), "tinyjail: --id a/b: must be 1 to 12 characters");
        assert_eq!(e.status, STATUS_FAILED);
    }
}
