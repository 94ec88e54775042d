//! Container networking over rtnetlink: requests built by [`netlink`], sent on a
//! `NETLINK_ROUTE` socket, each acknowledged before the next.

pub mod netlink;

use linux_raw_sys::netlink as nl;

use crate::error::{Error, Result};
use crate::sys::{self, Errno, Fd};
use netlink::{AckOutcome, Overflow};

/// `AF_NETLINK` and `SOL_NETLINK` (linux/socket.h); `SOCK_RAW` (linux/net.h).
const AF_NETLINK: u32 = 16;
const SOL_NETLINK: u32 = 270;
const SOCK_RAW: u32 = 3;

/// Room for any request tinyjail builds.
const REQUEST_MAX: usize = 256;
/// Room for a reply: acknowledgements are small, but a link dump is up to about 2 KiB.
const REPLY_MAX: usize = 8192;

/// A `NETLINK_ROUTE` socket in the calling process's network namespace.
pub struct Rtnetlink {
    socket: Fd,
    seq: u32,
}

impl Rtnetlink {
    pub fn open() -> Result<Rtnetlink> {
        let socket = sys::socket(AF_NETLINK, SOCK_RAW, nl::NETLINK_ROUTE)
            .map_err(|e| Error::sys("opening a netlink socket", b"", e))?;
        // Ask for the kernel's error texts, and for errors without a copy of the request.
        let _ = sys::setsockopt_int(&socket, SOL_NETLINK, nl::NETLINK_EXT_ACK, 1);
        let _ = sys::setsockopt_int(&socket, SOL_NETLINK, nl::NETLINK_CAP_ACK, 1);
        Ok(Rtnetlink { socket, seq: 0 })
    }

    /// Sends one request built by `build` and waits for its acknowledgement. A refusal is
    /// reported as `doing object: <errno>`, with the kernel's text when it sent one.
    pub fn call(
        &mut self,
        doing: &'static str,
        object: &'static [u8],
        build: impl FnOnce(&mut [u8], u32) -> core::result::Result<usize, Overflow>,
    ) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut request = [0u8; REQUEST_MAX];
        let len = build(&mut request, self.seq)
            .map_err(|Overflow| Error::sys(doing, object, Errno::EMSGSIZE))?;
        sys::write_fd(&self.socket, &request[..len]).map_err(|e| Error::sys(doing, object, e))?;

        let mut reply = [0u8; REPLY_MAX];
        loop {
            let n =
                sys::recv(&self.socket, &mut reply).map_err(|e| Error::sys(doing, object, e))?;
            match netlink::parse_ack(&reply[..n], self.seq) {
                Ok(AckOutcome::Ack) => return Ok(()),
                Ok(AckOutcome::Pending) => continue,
                Ok(AckOutcome::Error(refused)) => {
                    let e = Error::sys(doing, object, Errno::new(refused.errno));
                    return Err(match refused.message {
                        Some(text) => e.with_note(text),
                        None => e,
                    });
                }
                Err(_) => return Err(Error::sys(doing, object, Errno::EBADMSG)),
            }
        }
    }
}

/// Brings the loopback interface of the current network namespace up
/// (`ip link set lo up`). In a new namespace `lo` is always interface 1.
pub fn loopback_up() -> Result<()> {
    let mut rtnl = Rtnetlink::open()?;
    rtnl.call("bringing up", b"lo", |buf, seq| {
        netlink::link_up(buf, seq, 1)
    })
}
