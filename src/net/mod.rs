//! Container networking over rtnetlink.

use crate::error::Result;

/// Brings the loopback interface of the container's network namespace up
/// (`ip link set lo up`).
pub fn loopback_up() -> Result<()> {
    // TODO: RTM_NEWLINK for lo through the netlink module.
    Ok(())
}
