//! Container networking over rtnetlink: requests built by [`netlink`], sent on a
//! `NETLINK_ROUTE` socket, each acknowledged before the next.

pub mod addr;
pub mod netlink;

use linux_raw_sys::netlink as nl;

use crate::error::{Error, Result};
use crate::plan::{Id, Network};
use crate::sys::{self, Errno, Fd};
use netlink::{AckOutcome, LinkInfo, NetnsRef, Overflow, Reply};

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
        self.send_and_wait(doing, object, &request[..len])
    }

    /// The part of [`Rtnetlink::call`] that does not depend on the request: one copy of it
    /// in the binary, not one per kind of request.
    #[inline(never)]
    fn send_and_wait(
        &mut self,
        doing: &'static str,
        object: &'static [u8],
        request: &[u8],
    ) -> Result<()> {
        sys::write_fd(&self.socket, request).map_err(|e| Error::sys(doing, object, e))?;

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

impl Rtnetlink {
    /// Looks an interface up by name (`ip link show NAME`); errors name it as `shown`.
    pub fn link(
        &mut self,
        doing: &'static str,
        name: &[u8],
        shown: &'static [u8],
    ) -> Result<LinkInfo> {
        self.seq = self.seq.wrapping_add(1);
        let mut request = [0u8; REQUEST_MAX];
        let len = netlink::link_by_name(&mut request, self.seq, name)
            .map_err(|Overflow| Error::sys(doing, shown, Errno::EMSGSIZE))?;
        sys::write_fd(&self.socket, &request[..len]).map_err(|e| Error::sys(doing, shown, e))?;

        let mut reply = [0u8; REPLY_MAX];
        let mut found = None;
        loop {
            let n = sys::recv(&self.socket, &mut reply).map_err(|e| Error::sys(doing, shown, e))?;
            match netlink::parse_reply(&reply[..n], self.seq) {
                Ok(Reply::Message(message)) => {
                    let info = netlink::parse_link_reply(message)
                        .map_err(|_| Error::sys(doing, shown, Errno::EBADMSG))?;
                    // The acknowledgement follows in a datagram of its own.
                    found = Some(info);
                }
                Ok(Reply::Pending) => {}
                Ok(Reply::Ack) => return found.ok_or(Error::sys(doing, shown, Errno::ENODEV)),
                Ok(Reply::Error(refused)) => {
                    let e = Error::sys(doing, shown, Errno::new(refused.errno));
                    return Err(match refused.message {
                        Some(text) => e.with_note(text),
                        None => e,
                    });
                }
                Err(_) => return Err(Error::sys(doing, shown, Errno::EBADMSG)),
            }
        }
    }
}

/// The container's end of the veth pair, inside its namespace.
pub const CONTAINER_IFNAME: &[u8] = b"eth0";

/// The host's bridge, checked before anything is made: it exists and is a bridge.
pub fn find_bridge(name: &'static [u8]) -> Result<u32> {
    let mut rtnl = Rtnetlink::open()?;
    let info = rtnl.link("looking up bridge", name, name)?;
    if !info.is_bridge {
        return Err(Error::input("--network-bridge", name, "is not a bridge"));
    }
    Ok(info.index)
}

/// The name of the veth pair's host end: `tj` and the container ID (at most 14 bytes, made
/// only of characters an interface name may hold; distinct IDs give distinct names).
pub fn host_ifname(id: &Id) -> heapless::Vec<u8, 16> {
    let mut name = heapless::Vec::new();
    let _ = name.extend_from_slice(b"tj");
    let _ = name.extend_from_slice(id.as_bytes());
    name
}

/// How long a veth of an earlier container with the same ID may take to go: the kernel
/// deletes it with that container's network namespace, a moment after the container ended
/// (deleting it by hand instead would hold up every exit for some 15 ms of RCU grace
/// periods). 200 tries 5 ms apart.
const NAME_FREE_TRIES: u32 = 200;
const NAME_FREE_PAUSE_MICROS: u32 = 5000;

/// Makes the veth pair from the host's side (`ip link add tjID type veth peer name eth0
/// netns PID`): the host end, named after the container ID, here; its peer `eth0` made
/// straight in the network namespace of process `pid`. Then the host end is attached to the
/// bridge and brought up (`ip link set tjID master BR up`), or given the peer address
/// (`ip addr add CIDR dev tjID; ip link set tjID up`).
///
/// The pair lives as long as the container's network namespace: when the container ends,
/// on every way out, the kernel deletes both ends.
pub fn make_veth(net: &Network, bridge: Option<u32>, id: &Id, pid: u32) -> Result<()> {
    let mut rtnl = Rtnetlink::open()?;
    let name = host_ifname(id);
    let mut tries = 0;
    loop {
        let made = rtnl.call("creating the veth pair", b"", |buf, seq| {
            netlink::veth_pair(buf, seq, &name, CONTAINER_IFNAME, NetnsRef::Pid(pid), None)
        });
        match made {
            Ok(()) => break,
            Err(e) if e.errno == Some(Errno::EEXIST) && tries < NAME_FREE_TRIES => {
                tries += 1;
                sys::sleep_micros(NAME_FREE_PAUSE_MICROS);
            }
            Err(e) if e.errno == Some(Errno::EEXIST) => {
                return Err(e.hint("an interface named after this container ID exists already"));
            }
            Err(e) => return Err(e),
        }
    }
    let index = rtnl
        .link("looking up the", &name, b"veth's host end")?
        .index;
    match (bridge, net.peer_address) {
        (Some(master), _) => {
            let bridge_name = net.bridge.unwrap_or(b"");
            rtnl.call("attaching veth to bridge", bridge_name, |buf, seq| {
                netlink::set_master(buf, seq, index, master, true)
            })?;
        }
        (None, Some(peer)) => {
            rtnl.call(
                "adding the peer address to the veth's host end",
                b"",
                |buf, seq| netlink::add_address(buf, seq, index, &peer),
            )?;
            rtnl.call("bringing up the veth's host end", b"", |buf, seq| {
                netlink::link_up(buf, seq, index)
            })?;
        }
        (None, None) => {}
    }
    Ok(())
}

/// Inside the container's namespace: `lo` up (`ip link set lo up`; in a new namespace it
/// is always interface 1), and with a veth, `eth0` up with its address (`ip addr add CIDR
/// dev eth0 nodad`) and the default route (`ip route add default via ADDR dev eth0`).
pub fn configure_container(net: &Network) -> Result<()> {
    let mut rtnl = Rtnetlink::open()?;
    rtnl.call("bringing up", b"lo", |buf, seq| {
        netlink::link_up(buf, seq, 1)
    })?;
    if !net.wants_veth() {
        return Ok(());
    }
    let eth0 = rtnl
        .link("looking up", CONTAINER_IFNAME, CONTAINER_IFNAME)?
        .index;
    rtnl.call("bringing up", CONTAINER_IFNAME, |buf, seq| {
        netlink::link_up(buf, seq, eth0)
    })?;
    if let Some(address) = net.address {
        rtnl.call("adding the address of", CONTAINER_IFNAME, |buf, seq| {
            netlink::add_address(buf, seq, eth0, &address)
        })?;
    }
    if let Some(gateway) = net.default_route {
        rtnl.call(
            "adding the default route via",
            CONTAINER_IFNAME,
            |buf, seq| netlink::add_default_route(buf, seq, &gateway, Some(eth0)),
        )?;
    }
    Ok(())
}
