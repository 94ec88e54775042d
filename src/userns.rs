//! The user namespace's ID maps: one host UID and one host GID become 0 inside; every other
//! ID shows as the overflow ID (nobody, 65534).
//!
//! The maps are written by the parent, which holds CAP_SETUID and CAP_SETGID in the
//! namespace above; a process can map only its own IDs into its own namespace. Order
//! matters: `setgroups` must say `deny` before `gid_map` is written.

use core::ffi::CStr;

use crate::error::Result;
use crate::output::Line;
use crate::procfs::ProcDir;

/// Writes `uid_map`, `setgroups` and `gid_map` of the process.
pub fn write_id_maps(proc: &ProcDir, uid: u32, gid: u32) -> Result<()> {
    write_map(proc, c"uid_map", uid)?;
    // Without this, root inside could drop groups that the host uses to deny it access.
    proc.write(c"setgroups", b"deny")?;
    write_map(proc, c"gid_map", gid)
}

fn write_map(proc: &ProcDir, file: &'static CStr, host_id: u32) -> Result<()> {
    let mut line = Line::new();
    line.str("0 ").number(u64::from(host_id)).str(" 1\n");
    proc.write(file, line.as_bytes())
}
