//! Files in /proc of the container's first process, written by the parent before the child
//! goes on: the ID maps and `oom_score_adj`.

use core::ffi::CStr;

use linux_raw_sys::general as k;

use crate::error::{Context, Error, Result};
use crate::output::Line;
use crate::sys::{self, Fd};

/// `/proc/PID` of one process.
pub struct ProcDir(Fd);

impl ProcDir {
    /// Opens `/proc/PID` in the host's /proc if it is mounted, else in a private proc
    /// instance that is never attached to any mount table (tinyjail works where /proc is not
    /// mounted, as in an initramfs).
    pub fn of(pid: u32) -> Result<ProcDir> {
        let mut name = Line::new();
        name.number(u64::from(pid)).push(b"\0");
        let name = CStr::from_bytes_with_nul(name.as_bytes()).unwrap_or(c"0");
        let flags = k::O_PATH | k::O_DIRECTORY;
        if let Ok(dir) = sys::openat(sys::CWD, c"/proc", flags, 0)
            .and_then(|proc| sys::openat(proc.dir(), name, flags, 0))
        {
            return Ok(ProcDir(dir));
        }
        let doing = "opening a private proc instance";
        let context = sys::fsopen(c"proc").context(doing, b"")?;
        sys::fsconfig_create(&context).context(doing, b"")?;
        let proc = sys::fsmount(&context, 0).context(doing, b"")?;
        let dir = sys::openat(proc.dir(), name, flags, 0)
            .context("opening /proc of the container process", b"")?;
        Ok(ProcDir(dir))
    }

    /// Reads the start of a file (what fits in `buf`).
    pub fn read<'b>(&self, file: &CStr, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let fd = sys::openat(self.0.dir(), file, k::O_RDONLY, 0).ok()?;
        let n = sys::read(&fd, buf).ok()?;
        Some(&buf[..n])
    }

    /// Writes `content` to the file in one write, as proc files want.
    pub fn write(&self, file: &'static CStr, content: &[u8]) -> Result<()> {
        let object = file.to_bytes();
        let fd = sys::openat(self.0.dir(), file, k::O_WRONLY, 0).context("opening", object)?;
        sys::write_fd(&fd, content).map_err(|e| Error::sys("writing", object, e))
    }
}
