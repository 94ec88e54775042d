//! The user namespace's ID maps: one host UID and one host GID become 0 inside; every other
//! ID shows as the overflow ID (nobody, 65534).
//!
//! The maps are written by the parent, which holds CAP_SETUID and CAP_SETGID in the
//! namespace above; a process can map only its own IDs into its own namespace. Order
//! matters: `setgroups` must say `deny` before `gid_map` is written.

use core::ffi::CStr;

use linux_raw_sys::general as k;

use crate::error::{Context, Error, Result};
use crate::output::Line;
use crate::sys::{self, Fd};

/// Writes `uid_map`, `setgroups` and `gid_map` of process `pid`.
pub fn write_id_maps(pid: u32, uid: u32, gid: u32) -> Result<()> {
    let proc = open_proc()?;
    let mut dir_name = heapless::Vec::<u8, 16>::new();
    push_decimal(&mut dir_name, pid);
    let _ = dir_name.push(0);
    let dir_name = CStr::from_bytes_with_nul(&dir_name).unwrap_or(c"0");
    let dir = sys::openat(proc.dir(), dir_name, k::O_PATH | k::O_DIRECTORY, 0)
        .context("opening /proc of the container process", b"")?;

    write_map(&dir, c"uid_map", uid)?;
    // Without CAP_SETGID over the host, groups could otherwise be dropped inside.
    write_file(&dir, c"setgroups", b"deny")?;
    write_map(&dir, c"gid_map", gid)?;
    Ok(())
}

/// The host's /proc if it is mounted, else a private proc instance that is never attached
/// to any mount table (tinyjail works where /proc is not mounted, as in an initramfs).
fn open_proc() -> Result<Fd> {
    if let Ok(proc) = sys::openat(sys::CWD, c"/proc/self/uid_map", k::O_PATH, 0)
        .and_then(|_| sys::openat(sys::CWD, c"/proc", k::O_PATH | k::O_DIRECTORY, 0))
    {
        return Ok(proc);
    }
    let context = sys::fsopen(c"proc").context("opening a private proc for the ID maps", b"")?;
    sys::fsconfig_create(&context).context("creating a private proc for the ID maps", b"")?;
    sys::fsmount(&context, 0).context("mounting a private proc for the ID maps", b"")
}

fn write_map(dir: &Fd, file: &'static CStr, host_id: u32) -> Result<()> {
    let mut line = Line::new();
    line.str("0 ").number(u64::from(host_id)).str(" 1\n");
    write_file(dir, file, line.as_bytes())
}

fn write_file(dir: &Fd, file: &'static CStr, content: &[u8]) -> Result<()> {
    let object = file.to_bytes();
    let fd = sys::openat(dir.dir(), file, k::O_WRONLY, 0).context("opening", object)?;
    sys::write_fd(&fd, content).map_err(|e| Error::sys("writing", object, e))
}

fn push_decimal<const N: usize>(out: &mut heapless::Vec<u8, N>, value: u32) {
    let mut line = Line::new();
    line.number(u64::from(value));
    let _ = out.extend_from_slice(line.as_bytes());
}
