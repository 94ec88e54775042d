//! rtnetlink messages: builders for the few requests tinyjail sends, and bounds-checked parsers
//! for the kernel's replies.
//!
//! This module is pure byte work: no system calls, no `unsafe`, no allocation, no `core::fmt`.
//! Callers own the buffers, send the bytes on a `NETLINK_ROUTE` socket and hand the received
//! datagram back to [`parse_ack`] or [`parse_reply`].
//!
//! Layout rules (from `linux/netlink.h` and `linux/rtnetlink.h`):
//!
//! * every message starts with a 16-byte `struct nlmsghdr`; integers are in host byte order;
//! * a fixed family header follows (`ifinfomsg` 16 bytes, `ifaddrmsg` 8, `rtmsg` 12);
//! * then attributes: `struct rtattr { u16 rta_len; u16 rta_type; }` and the payload,
//!   `rta_len` counting header and payload but not the padding to the next multiple of 4;
//! * a nested attribute is an attribute whose payload is more attributes;
//! * IP addresses are attribute payloads in network byte order, i.e. the address bytes as
//!   written.
//!
//! Every builder computes its message length first, checks the buffer is big enough, then
//! writes; every write is bounds-checked again by [`Message`]. A too-small buffer gives
//! [`Overflow`], never a panic. Every parser checks every length the kernel sends before
//! using it; a malformed reply gives a [`ParseError`], never a panic or a read out of bounds.

#![forbid(unsafe_code)]

use core::mem::size_of;

use linux_raw_sys::netlink::{
    ifaddrmsg, ifinfomsg, nlmsgerr, nlmsgerr_attrs, nlmsghdr, rt_class_t, rt_scope_t, rtattr,
    rtattr_type_t, rtmsg, IFA_ADDRESS, IFA_FLAGS, IFA_F_NODAD, IFA_LOCAL, IFLA_IFNAME,
    IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_NET_NS_FD, IFLA_NET_NS_PID,
    NLA_TYPE_MASK, NLMSG_ALIGNTO, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK,
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, RTM_DELLINK,
    RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, RTN_UNICAST, RTPROT_BOOT,
};

// ---------------------------------------------------------------------------------------------
// Sizes and constants
// ---------------------------------------------------------------------------------------------

/// `struct nlmsghdr`: u32 len, u16 type, u16 flags, u32 seq, u32 pid.
pub const NLMSG_HDR_LEN: usize = size_of::<nlmsghdr>();
/// `struct ifinfomsg`: u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change.
pub const IFINFOMSG_LEN: usize = size_of::<ifinfomsg>();
/// `struct ifaddrmsg`: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index.
pub const IFADDRMSG_LEN: usize = size_of::<ifaddrmsg>();
/// `struct rtmsg`: u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags.
pub const RTMSG_LEN: usize = size_of::<rtmsg>();
/// `struct rtattr` (and `struct nlattr`): u16 len, u16 type.
pub const RTA_HDR_LEN: usize = size_of::<rtattr>();
/// `struct nlmsgerr`: i32 error, then the `nlmsghdr` of the request it answers.
pub const NLMSGERR_LEN: usize = size_of::<nlmsgerr>();
/// Messages and attributes start on 4-byte boundaries.
const ALIGN: usize = NLMSG_ALIGNTO as usize;

// The hand-written offsets below rely on these sizes.
const _: () = assert!(NLMSG_HDR_LEN == 16);
const _: () = assert!(IFINFOMSG_LEN == 16);
const _: () = assert!(IFADDRMSG_LEN == 8);
const _: () = assert!(RTMSG_LEN == 12);
const _: () = assert!(RTA_HDR_LEN == 4);
const _: () = assert!(NLMSGERR_LEN == 20);
const _: () = assert!(ALIGN == 4);

/// `AF_INET`, from `linux/socket.h` (not in the `netlink` module of linux-raw-sys).
pub const AF_INET: u8 = 2;
/// `AF_INET6`, from `linux/socket.h`.
pub const AF_INET6: u8 = 10;
/// `IFF_UP`, from `linux/if.h` (`enum net_device_flags`).
pub const IFF_UP: u32 = 1;
/// `VETH_INFO_PEER`, from `linux/veth.h` (`enum { VETH_INFO_UNSPEC, VETH_INFO_PEER, ... }`).
pub const VETH_INFO_PEER: u16 = 1;

/// `NLM_F_REQUEST | NLM_F_ACK`: every request asks for an acknowledgement.
const REQUEST_ACK: u16 = (NLM_F_REQUEST | NLM_F_ACK) as u16;
/// `NLM_F_CREATE | NLM_F_EXCL`: create, and fail with `EEXIST` if the object already exists.
const CREATE_EXCL: u16 = (NLM_F_CREATE | NLM_F_EXCL) as u16;
/// Attribute type bits without `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`.
const ATTR_TYPE_MASK: u16 = NLA_TYPE_MASK as u16;
/// `NLMSGERR_ATTR_MSG`: the extended-ack error text, NUL-terminated.
const NLMSGERR_ATTR_MSG: u16 = nlmsgerr_attrs::NLMSGERR_ATTR_MSG as u16;
/// Payload size of a `u32` attribute (IFLA_MASTER, IFLA_NET_NS_FD, IFA_FLAGS, RTA_OIF).
const U32_LEN: usize = size_of::<u32>();

/// `n` rounded up to a multiple of 4; saturates, so a huge length never fits a buffer.
const fn align(n: usize) -> usize {
    n.saturating_add(ALIGN - 1) & !(ALIGN - 1)
}

/// Bytes an attribute with `payload` bytes of payload takes, padding included.
const fn attr_space(payload: usize) -> usize {
    align(RTA_HDR_LEN.saturating_add(payload))
}

/// Bytes a NUL-terminated string attribute holding `s` takes.
const fn str_attr_space(s: &[u8]) -> usize {
    attr_space(s.len().saturating_add(1))
}

/// Sum of message parts; saturates, so an absurd total simply does not fit.
fn total(parts: &[usize]) -> usize {
    parts
        .iter()
        .fold(0usize, |sum, &part| sum.saturating_add(part))
}

/// The first `len` bytes of `buf`, or [`Overflow`] when `buf` is shorter.
fn exact(buf: &mut [u8], len: usize) -> Result<&mut [u8], Overflow> {
    buf.get_mut(..len).ok_or(Overflow)
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/// An IP address, bytes in network order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IpAddr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl IpAddr {
    /// `AF_INET` or `AF_INET6`.
    pub const fn family(&self) -> u8 {
        match self {
            IpAddr::V4(_) => AF_INET,
            IpAddr::V6(_) => AF_INET6,
        }
    }

    /// The address bytes, network order, as netlink attributes carry them.
    pub const fn octets(&self) -> &[u8] {
        match self {
            IpAddr::V4(a) => a,
            IpAddr::V6(a) => a,
        }
    }

    /// Longest prefix for this family: 32 or 128.
    pub const fn max_prefix(&self) -> u8 {
        match self {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }
}

/// An interface address with its prefix length, as in `10.0.0.2/24`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IpCidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpCidr {
    /// `AF_INET` or `AF_INET6`.
    pub const fn family(&self) -> u8 {
        self.addr.family()
    }
}

/// A network namespace to move a link into: `IFLA_NET_NS_FD` or `IFLA_NET_NS_PID`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum NetnsRef {
    /// An open file descriptor of a namespace (`/proc/PID/ns/net`, or `/proc/self/ns/net`).
    Fd(u32),
    /// A process (or thread: a tid works too) whose network namespace is meant.
    Pid(u32),
}

impl NetnsRef {
    fn attr_type(self) -> u16 {
        match self {
            NetnsRef::Fd(_) => IFLA_NET_NS_FD as u16,
            NetnsRef::Pid(_) => IFLA_NET_NS_PID as u16,
        }
    }

    fn value(self) -> u32 {
        match self {
            NetnsRef::Fd(v) | NetnsRef::Pid(v) => v,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Message writer
// ---------------------------------------------------------------------------------------------

/// The buffer is too small for the message (or an attribute longer than 65535 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct Overflow;

/// An open nested attribute; close it with [`Message::end_nest`].
#[must_use = "a nest must be closed with Message::end_nest"]
pub struct Nest {
    start: usize,
}

/// One netlink message being written into a caller's buffer.
///
/// [`Message::new`] writes the `nlmsghdr`; family headers and attributes are appended, each
/// padded to 4 bytes with zeros; [`Message::finish`] stores the final length in `nlmsg_len`.
/// Every append checks that it fits first and writes nothing when it does not.
pub struct Message<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Message<'a> {
    /// Starts a message of type `ty` with `flags` and `seq`; `nlmsg_pid` is 0 (the kernel
    /// fills in the sender's port).
    pub fn new(buf: &'a mut [u8], ty: u16, flags: u16, seq: u32) -> Result<Self, Overflow> {
        let mut msg = Message { buf, len: 0 };
        msg.put(&nlmsghdr_bytes(0, ty, flags, seq))?;
        Ok(msg)
    }

    /// Claims `n` bytes plus padding at the end of the message, zeroed.
    fn reserve(&mut self, n: usize) -> Result<&mut [u8], Overflow> {
        let start = self.len;
        let end = start.checked_add(align(n)).ok_or(Overflow)?;
        // nlmsg_len is a u32.
        if u32::try_from(end).is_err() {
            return Err(Overflow);
        }
        let out = self.buf.get_mut(start..end).ok_or(Overflow)?;
        out.fill(0);
        self.len = end;
        Ok(out)
    }

    /// Appends raw bytes (a family header such as [`ifinfomsg`]), zero-padded to 4 bytes.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), Overflow> {
        let out = self.reserve(bytes.len())?;
        copy(out, bytes)
    }

    /// Appends an attribute whose payload is `parts` one after the other.
    fn attr_parts(&mut self, ty: u16, parts: &[&[u8]]) -> Result<(), Overflow> {
        let payload = parts
            .iter()
            .fold(0usize, |sum, part| sum.saturating_add(part.len()));
        let rta_len = u16::try_from(RTA_HDR_LEN.saturating_add(payload)).map_err(|_| Overflow)?;
        let out = self.reserve(usize::from(rta_len))?;
        let (hdr, mut rest) = out.split_first_chunk_mut::<RTA_HDR_LEN>().ok_or(Overflow)?;
        *hdr = rtattr_bytes(rta_len, ty);
        for part in parts {
            let (dst, after) = rest.split_at_mut_checked(part.len()).ok_or(Overflow)?;
            copy(dst, part)?;
            rest = after;
        }
        Ok(())
    }

    /// Appends an attribute with `payload` as is.
    pub fn attr(&mut self, ty: u16, payload: &[u8]) -> Result<(), Overflow> {
        self.attr_parts(ty, &[payload])
    }

    /// Appends a `u32` attribute (host byte order).
    pub fn attr_u32(&mut self, ty: u16, value: u32) -> Result<(), Overflow> {
        self.attr(ty, &value.to_ne_bytes())
    }

    /// Appends a string attribute: `s` and a terminating NUL.
    pub fn attr_str(&mut self, ty: u16, s: &[u8]) -> Result<(), Overflow> {
        self.attr_parts(ty, &[s, &[0]])
    }

    /// Opens a nested attribute: attributes appended until [`Message::end_nest`] are its
    /// payload.
    pub fn begin_nest(&mut self, ty: u16) -> Result<Nest, Overflow> {
        let start = self.len;
        let out = self.reserve(RTA_HDR_LEN)?;
        let hdr = out.first_chunk_mut::<RTA_HDR_LEN>().ok_or(Overflow)?;
        // Length 0 until end_nest knows it.
        *hdr = rtattr_bytes(0, ty);
        Ok(Nest { start })
    }

    /// Closes a nested attribute, storing its length.
    pub fn end_nest(&mut self, nest: Nest) -> Result<(), Overflow> {
        let len = self.len.checked_sub(nest.start).ok_or(Overflow)?;
        let len = u16::try_from(len).map_err(|_| Overflow)?;
        let hdr = self
            .buf
            .get_mut(nest.start..)
            .and_then(|b| b.first_chunk_mut::<2>())
            .ok_or(Overflow)?;
        *hdr = len.to_ne_bytes();
        Ok(())
    }

    /// Stores the total length in `nlmsg_len` and returns it: send `&buf[..len]`.
    pub fn finish(self) -> usize {
        // reserve() keeps len within u32 and the header was written by new().
        let len = u32::try_from(self.len).unwrap_or(u32::MAX);
        if let Some(field) = self.buf.first_chunk_mut::<4>() {
            *field = len.to_ne_bytes();
        }
        self.len
    }
}

/// Copies `src` to the start of `dst`. Unlike `copy_from_slice`, which the size-optimised
/// build keeps out of line with its length-mismatch panic, this has no panic path.
fn copy(dst: &mut [u8], src: &[u8]) -> Result<(), Overflow> {
    if dst.len() < src.len() {
        return Err(Overflow);
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
    Ok(())
}

/// A `struct nlmsghdr` with `nlmsg_pid` 0.
fn nlmsghdr_bytes(len: u32, ty: u16, flags: u16, seq: u32) -> [u8; NLMSG_HDR_LEN] {
    let [l0, l1, l2, l3] = len.to_ne_bytes();
    let [t0, t1] = ty.to_ne_bytes();
    let [f0, f1] = flags.to_ne_bytes();
    let [s0, s1, s2, s3] = seq.to_ne_bytes();
    // nlmsg_pid 0: the kernel fills in the sender's port.
    [l0, l1, l2, l3, t0, t1, f0, f1, s0, s1, s2, s3, 0, 0, 0, 0]
}

/// A `struct rtattr` header.
fn rtattr_bytes(len: u16, ty: u16) -> [u8; RTA_HDR_LEN] {
    let [l0, l1] = len.to_ne_bytes();
    let [t0, t1] = ty.to_ne_bytes();
    [l0, l1, t0, t1]
}

/// A `struct ifinfomsg` with family `AF_UNSPEC` and type 0.
pub fn ifinfomsg(index: u32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let [i0, i1, i2, i3] = index.to_ne_bytes();
    let [f0, f1, f2, f3] = flags.to_ne_bytes();
    let [c0, c1, c2, c3] = change.to_ne_bytes();
    // ifi_family AF_UNSPEC, __ifi_pad, ifi_type (u16) 0, then index, flags, change.
    [0, 0, 0, 0, i0, i1, i2, i3, f0, f1, f2, f3, c0, c1, c2, c3]
}

/// A `struct ifaddrmsg`.
pub fn ifaddrmsg(
    family: u8,
    prefixlen: u8,
    flags: u8,
    scope: u8,
    index: u32,
) -> [u8; IFADDRMSG_LEN] {
    let [i0, i1, i2, i3] = index.to_ne_bytes();
    [family, prefixlen, flags, scope, i0, i1, i2, i3]
}

/// The fields of a `struct rtmsg`.
#[derive(Clone, Copy)]
pub struct RtMsg {
    pub family: u8,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    pub table: u8,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    pub flags: u32,
}

/// A `struct rtmsg`.
pub fn rtmsg(m: RtMsg) -> [u8; RTMSG_LEN] {
    let [f0, f1, f2, f3] = m.flags.to_ne_bytes();
    [
        m.family, m.dst_len, m.src_len, m.tos, m.table, m.protocol, m.scope, m.kind, f0, f1, f2, f3,
    ]
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// `ip link set dev X up`: RTM_NEWLINK on an existing link, setting IFF_UP.
///
/// ```text
/// 0   nlmsghdr   16  len 32, RTM_NEWLINK, REQUEST|ACK, seq, pid 0
/// 16  ifinfomsg  16  AF_UNSPEC, index ifindex, flags IFF_UP, change IFF_UP
/// 32
/// ```
pub fn link_up(buf: &mut [u8], seq: u32, ifindex: u32) -> Result<usize, Overflow> {
    const LEN: usize = NLMSG_HDR_LEN + IFINFOMSG_LEN;
    let mut m = Message::new(exact(buf, LEN)?, RTM_NEWLINK as u16, REQUEST_ACK, seq)?;
    m.put(&ifinfomsg(ifindex, IFF_UP, IFF_UP))?;
    Ok(m.finish())
}

/// `ip link add NAME [netns NS] type veth peer name PEER netns PEER_NS`: creates a veth pair.
///
/// The end called `name` is created in the namespace of the netlink socket, or in `netns`
/// when given; the end called `peer_name` is created directly in `peer_netns` (so the peer
/// name, e.g. `eth0`, only has to be free in that namespace). Both ends start down.
///
/// Kernel answers (Linux 6.18): `EEXIST` if either name is taken in its namespace, and then
/// neither end is created; `EBADF` for a bad namespace fd, `ESRCH` for a missing pid;
/// `ERANGE` ("Attribute failed policy validation") for a name longer than 15 bytes.
///
/// ```text
/// nlmsghdr                16  RTM_NEWLINK, REQUEST|ACK|CREATE|EXCL
/// ifinfomsg               16  all zero
/// [IFLA_NET_NS_FD|PID]     8  u32, only when netns is Some
/// IFLA_IFNAME              4 + name + NUL, padded
/// IFLA_LINKINFO            4  nest
///   IFLA_INFO_KIND        12  "veth\0" + 3 pad
///   IFLA_INFO_DATA         4  nest
///     VETH_INFO_PEER       4  nest; payload is a message body:
///       ifinfomsg         16  all zero
///       IFLA_IFNAME        4 + peer_name + NUL, padded
///       IFLA_NET_NS_FD|PID 8  u32
/// ```
pub fn veth_pair(
    buf: &mut [u8],
    seq: u32,
    name: &[u8],
    peer_name: &[u8],
    peer_netns: NetnsRef,
    netns: Option<NetnsRef>,
) -> Result<usize, Overflow> {
    const KIND: &[u8] = b"veth";
    let len = total(&[
        NLMSG_HDR_LEN,
        IFINFOMSG_LEN,
        if netns.is_some() {
            attr_space(U32_LEN)
        } else {
            0
        },
        str_attr_space(name),
        RTA_HDR_LEN, // IFLA_LINKINFO
        str_attr_space(KIND),
        RTA_HDR_LEN, // IFLA_INFO_DATA
        RTA_HDR_LEN, // VETH_INFO_PEER
        IFINFOMSG_LEN,
        str_attr_space(peer_name),
        attr_space(U32_LEN),
    ]);
    let flags = REQUEST_ACK | CREATE_EXCL;
    let mut m = Message::new(exact(buf, len)?, RTM_NEWLINK as u16, flags, seq)?;
    m.put(&ifinfomsg(0, 0, 0))?;
    if let Some(ns) = netns {
        m.attr_u32(ns.attr_type(), ns.value())?;
    }
    m.attr_str(IFLA_IFNAME as u16, name)?;
    let linkinfo = m.begin_nest(IFLA_LINKINFO as u16)?;
    m.attr_str(IFLA_INFO_KIND as u16, KIND)?;
    let data = m.begin_nest(IFLA_INFO_DATA as u16)?;
    let peer = m.begin_nest(VETH_INFO_PEER)?;
    m.put(&ifinfomsg(0, 0, 0))?;
    m.attr_str(IFLA_IFNAME as u16, peer_name)?;
    m.attr_u32(peer_netns.attr_type(), peer_netns.value())?;
    m.end_nest(peer)?;
    m.end_nest(data)?;
    m.end_nest(linkinfo)?;
    Ok(m.finish())
}

/// `ip link set dev X master BR [up]`: attaches a link to a bridge (RTM_NEWLINK with
/// IFLA_MASTER), and sets IFF_UP in the same request when `up`. `master_ifindex` 0 detaches
/// (`ip link set dev X nomaster`). A missing master gives `EINVAL`, one that is not a bridge
/// (or bond, ...) `EOPNOTSUPP`.
///
/// ```text
/// 0   nlmsghdr     16  len 40, RTM_NEWLINK, REQUEST|ACK
/// 16  ifinfomsg    16  index ifindex, flags and change IFF_UP if up, else 0
/// 32  IFLA_MASTER   8  len 8, type 10, u32 master_ifindex
/// 40
/// ```
pub fn set_master(
    buf: &mut [u8],
    seq: u32,
    ifindex: u32,
    master_ifindex: u32,
    up: bool,
) -> Result<usize, Overflow> {
    const LEN: usize = NLMSG_HDR_LEN + IFINFOMSG_LEN + attr_space(U32_LEN);
    let up = if up { IFF_UP } else { 0 };
    let mut m = Message::new(exact(buf, LEN)?, RTM_NEWLINK as u16, REQUEST_ACK, seq)?;
    m.put(&ifinfomsg(ifindex, up, up))?;
    m.attr_u32(IFLA_MASTER as u16, master_ifindex)?;
    Ok(m.finish())
}

/// `ip link show dev NAME`: RTM_GETLINK by name. The kernel answers with one RTM_NEWLINK
/// message (see [`parse_reply`] and [`parse_link_reply`]) followed, in a second datagram, by
/// the acknowledgement; or with only an error (`ENODEV`). The RTM_NEWLINK message is large
/// (Linux 6.18: about 1.5 KiB for `lo` or a veth, 1.9 KiB for a bridge): receive into at
/// least 4 KiB. A datagram cut short by a small buffer parses as [`ParseError::Truncated`].
///
/// ```text
/// 0   nlmsghdr     16  RTM_GETLINK, REQUEST|ACK
/// 16  ifinfomsg    16  all zero (index 0: look up by name)
/// 32  IFLA_IFNAME   4 + name + NUL, padded
/// ```
pub fn link_by_name(buf: &mut [u8], seq: u32, name: &[u8]) -> Result<usize, Overflow> {
    let len = total(&[NLMSG_HDR_LEN, IFINFOMSG_LEN, str_attr_space(name)]);
    let mut m = Message::new(exact(buf, len)?, RTM_GETLINK as u16, REQUEST_ACK, seq)?;
    m.put(&ifinfomsg(0, 0, 0))?;
    m.attr_str(IFLA_IFNAME as u16, name)?;
    Ok(m.finish())
}

/// `ip addr add CIDR dev X` (IPv4) or `ip addr add CIDR dev X nodad` (IPv6): RTM_NEWADDR.
/// IPv6 addresses skip duplicate address detection, so they are usable at once instead of
/// "tentative" for a second or two. An existing address gives `EEXIST`; a prefix longer than
/// the family allows gives `EINVAL` (the parsers elsewhere should reject it first).
///
/// ```text
/// nlmsghdr      16  RTM_NEWADDR, REQUEST|ACK|CREATE|EXCL
/// ifaddrmsg      8  family, prefix, flags (IFA_F_NODAD for IPv6), RT_SCOPE_UNIVERSE, index
/// IFA_LOCAL      4 + 4 or 16  address
/// IFA_ADDRESS    4 + 4 or 16  address (same: no point-to-point peer)
/// [IFA_FLAGS]    8  u32 IFA_F_NODAD, IPv6 only
/// ```
pub fn add_address(
    buf: &mut [u8],
    seq: u32,
    ifindex: u32,
    addr: &IpCidr,
) -> Result<usize, Overflow> {
    let octets = addr.addr.octets();
    let v6 = matches!(addr.addr, IpAddr::V6(_));
    let len = total(&[
        NLMSG_HDR_LEN,
        IFADDRMSG_LEN,
        attr_space(octets.len()),
        attr_space(octets.len()),
        if v6 { attr_space(U32_LEN) } else { 0 },
    ]);
    let flags = REQUEST_ACK | CREATE_EXCL;
    let ifa_flags = if v6 { IFA_F_NODAD } else { 0 };
    let scope = rt_scope_t::RT_SCOPE_UNIVERSE as u8;
    let mut m = Message::new(exact(buf, len)?, RTM_NEWADDR as u16, flags, seq)?;
    m.put(&ifaddrmsg(
        addr.family(),
        addr.prefix,
        ifa_flags as u8,
        scope,
        ifindex,
    ))?;
    m.attr(IFA_LOCAL as u16, octets)?;
    m.attr(IFA_ADDRESS as u16, octets)?;
    if v6 {
        m.attr_u32(IFA_FLAGS as u16, ifa_flags)?;
    }
    Ok(m.finish())
}

/// `ip route add default via GATEWAY [dev X]`: RTM_NEWROUTE in the main table. `oif` is the
/// output interface index; it is required for an IPv6 link-local gateway (`fe80::/10`),
/// else `EINVAL` ("Egress device not specified"). A gateway not on any up link's prefix gives
/// `ENETUNREACH` ("Nexthop has invalid gateway"); an existing default route `EEXIST`.
///
/// ```text
/// nlmsghdr      16  RTM_NEWROUTE, REQUEST|ACK|CREATE|EXCL
/// rtmsg         12  family, dst_len 0, src_len 0, tos 0, RT_TABLE_MAIN, RTPROT_BOOT,
///                   RT_SCOPE_UNIVERSE, RTN_UNICAST, flags 0
/// RTA_GATEWAY   4 + 4 or 16  gateway address
/// [RTA_OIF]     8  u32 oif
/// ```
pub fn add_default_route(
    buf: &mut [u8],
    seq: u32,
    gateway: &IpAddr,
    oif: Option<u32>,
) -> Result<usize, Overflow> {
    let octets = gateway.octets();
    let len = total(&[
        NLMSG_HDR_LEN,
        RTMSG_LEN,
        attr_space(octets.len()),
        if oif.is_some() {
            attr_space(U32_LEN)
        } else {
            0
        },
    ]);
    let header = rtmsg(RtMsg {
        family: gateway.family(),
        dst_len: 0,
        src_len: 0,
        tos: 0,
        table: rt_class_t::RT_TABLE_MAIN as u8,
        protocol: RTPROT_BOOT as u8,
        scope: rt_scope_t::RT_SCOPE_UNIVERSE as u8,
        kind: RTN_UNICAST as u8,
        flags: 0,
    });
    let flags = REQUEST_ACK | CREATE_EXCL;
    let mut m = Message::new(exact(buf, len)?, RTM_NEWROUTE as u16, flags, seq)?;
    m.put(&header)?;
    m.attr(rtattr_type_t::RTA_GATEWAY as u16, octets)?;
    if let Some(oif) = oif {
        m.attr_u32(rtattr_type_t::RTA_OIF as u16, oif)?;
    }
    Ok(m.finish())
}

/// `ip link del X`: RTM_DELLINK. Deleting either end of a veth pair deletes both.
///
/// ```text
/// 0   nlmsghdr   16  len 32, RTM_DELLINK, REQUEST|ACK
/// 16  ifinfomsg  16  index ifindex, flags 0, change 0
/// 32
/// ```
pub fn delete_link(buf: &mut [u8], seq: u32, ifindex: u32) -> Result<usize, Overflow> {
    const LEN: usize = NLMSG_HDR_LEN + IFINFOMSG_LEN;
    let mut m = Message::new(exact(buf, LEN)?, RTM_DELLINK as u16, REQUEST_ACK, seq)?;
    m.put(&ifinfomsg(ifindex, 0, 0))?;
    Ok(m.finish())
}

// ---------------------------------------------------------------------------------------------
// Reply parsing
// ---------------------------------------------------------------------------------------------

/// A reply the parsers refuse. The kernel never sends these; they mean a truncated datagram
/// (receive buffer too small) or bytes that are not netlink.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum ParseError {
    /// Fewer bytes left than a `nlmsghdr`, or `nlmsg_len` runs past the end of the buffer.
    Truncated,
    /// `nlmsg_len` is smaller than the `nlmsghdr` itself.
    BadLength,
    /// `nlmsg_len` is not a multiple of 4 (the kernel pads every message it sends us).
    Misaligned,
    /// An NLMSG_ERROR too short for `struct nlmsgerr`, or with a positive error code.
    BadError,
    /// [`parse_link_reply`] was given a message that is not RTM_NEWLINK.
    UnexpectedType,
    /// A message body too short for its family header.
    ShortMessage,
    /// An attribute with `rta_len` < 4 or running past the end of its message.
    BadAttribute,
}

/// The kernel refused a request.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct KernelError<'r> {
    /// Positive errno (`ENODEV` = 19, `EEXIST` = 17, ...).
    pub errno: i32,
    /// The extended-ack text (NLMSGERR_ATTR_MSG) without its NUL, when the socket has
    /// `NETLINK_EXT_ACK` set and the kernel gave one. Borrowed from the reply buffer.
    pub message: Option<&'r [u8]>,
}

/// What a reply buffer says about one request.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum AckOutcome<'r> {
    /// NLMSG_ERROR with error 0: the request succeeded.
    Ack,
    /// NLMSG_ERROR with a negative error.
    Error(KernelError<'r>),
    /// No NLMSG_ERROR with this seq in the buffer (e.g. only a stale reply to an earlier
    /// request): receive again.
    Pending,
}

/// What a reply buffer says about a request that returns data (RTM_GETLINK).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum Reply<'r> {
    /// The first message with this seq that is not NLMSG_ERROR/NOOP/OVERRUN: exactly
    /// `nlmsg_len` bytes, header included. Give it to [`parse_link_reply`].
    Message(&'r [u8]),
    /// An acknowledgement came first (the data was in an earlier datagram, or there is none).
    Ack,
    /// The request failed.
    Error(KernelError<'r>),
    /// Nothing with this seq in the buffer: receive again.
    Pending,
}

/// The fields of a `nlmsghdr` the parsers use.
struct Header {
    len: usize,
    ty: u16,
    flags: u16,
    seq: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..)?
        .first_chunk::<2>()
        .map(|a| u16::from_ne_bytes(*a))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..)?
        .first_chunk::<4>()
        .map(|a| u32::from_ne_bytes(*a))
}

/// Reads the `nlmsghdr` at the start of `b`.
fn header(b: &[u8]) -> Option<Header> {
    Some(Header {
        len: usize::try_from(u32_at(b, 0)?).ok()?,
        ty: u16_at(b, 4)?,
        flags: u16_at(b, 6)?,
        seq: u32_at(b, 8)?,
    })
}

/// Splits the first message off `rest`, checking its length.
fn next_message<'r>(rest: &mut &'r [u8]) -> Result<(Header, &'r [u8]), ParseError> {
    let hdr = header(rest).ok_or(ParseError::Truncated)?;
    if hdr.len < NLMSG_HDR_LEN {
        return Err(ParseError::BadLength);
    }
    if hdr.len % ALIGN != 0 {
        return Err(ParseError::Misaligned);
    }
    let (msg, after) = rest
        .split_at_checked(hdr.len)
        .ok_or(ParseError::Truncated)?;
    *rest = after;
    Ok((hdr, msg))
}

/// Reads an NLMSG_ERROR message (header included): `None` for an acknowledgement.
fn error_message<'r>(hdr: &Header, msg: &'r [u8]) -> Result<Option<KernelError<'r>>, ParseError> {
    let payload = msg.get(NLMSG_HDR_LEN..).unwrap_or(&[]);
    if payload.len() < NLMSGERR_LEN {
        // The kernel always embeds at least the request's nlmsghdr.
        return Err(ParseError::BadError);
    }
    let code = u32_at(payload, 0).ok_or(ParseError::BadError)? as i32;
    if code == 0 {
        return Ok(None);
    }
    let errno = code
        .checked_neg()
        .filter(|e| *e > 0)
        .ok_or(ParseError::BadError)?;
    let message = if u32::from(hdr.flags) & NLM_F_ACK_TLVS != 0 {
        ext_ack_message(payload, hdr.flags)
    } else {
        None
    };
    Ok(Some(KernelError { errno, message }))
}

/// The NLMSGERR_ATTR_MSG text in an NLMSG_ERROR payload, if any.
///
/// ```text
/// payload: i32 error | nlmsghdr of the request | request body unless NLM_F_CAPPED | TLVs
/// ```
/// The TLVs start after the embedded request, padded to 4. A malformed TLV area gives
/// `None`: the errno is still worth reporting.
fn ext_ack_message(payload: &[u8], flags: u16) -> Option<&[u8]> {
    let embedded = if u32::from(flags) & NLM_F_CAPPED != 0 {
        NLMSG_HDR_LEN
    } else {
        // The request's own nlmsg_len.
        usize::try_from(u32_at(payload, 4)?).ok()?
    };
    if embedded < NLMSG_HDR_LEN {
        return None;
    }
    let start = size_of::<i32>().checked_add(align(embedded))?;
    let tlvs = payload.get(start..)?;
    for attr in Attrs::new(tlvs) {
        let (ty, data) = attr.ok()?;
        if ty == NLMSGERR_ATTR_MSG {
            return Some(until_nul(data));
        }
    }
    None
}

/// `s` up to (not including) its first NUL.
fn until_nul(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(end) => s.get(..end).unwrap_or(s),
        None => s,
    }
}

/// Walks the messages of one received datagram, looking for the answer to `seq`.
fn find<'r>(reply: &'r [u8], seq: u32, want_data: bool) -> Result<Reply<'r>, ParseError> {
    let mut rest = reply;
    while !rest.is_empty() {
        let (hdr, msg) = next_message(&mut rest)?;
        if hdr.seq != seq {
            continue;
        }
        match u32::from(hdr.ty) {
            NLMSG_ERROR => {
                return Ok(match error_message(&hdr, msg)? {
                    None => Reply::Ack,
                    Some(e) => Reply::Error(e),
                })
            }
            NLMSG_NOOP | NLMSG_OVERRUN => {}
            _ if want_data => return Ok(Reply::Message(msg)),
            _ => {}
        }
    }
    Ok(Reply::Pending)
}

/// Finds the acknowledgement of request `seq` in a received datagram. Messages with another
/// seq, and data messages, are skipped.
pub fn parse_ack(reply: &[u8], seq: u32) -> Result<AckOutcome<'_>, ParseError> {
    Ok(match find(reply, seq, false)? {
        Reply::Ack => AckOutcome::Ack,
        Reply::Error(e) => AckOutcome::Error(e),
        Reply::Message(_) | Reply::Pending => AckOutcome::Pending,
    })
}

/// Finds the first answer to request `seq` in a received datagram: a data message, an
/// acknowledgement or an error. Messages with another seq are skipped.
pub fn parse_reply(reply: &[u8], seq: u32) -> Result<Reply<'_>, ParseError> {
    find(reply, seq, true)
}

/// What tinyjail needs to know about a link.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// `ifi_flags`: IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ...
    pub flags: u32,
    /// IFLA_LINKINFO/IFLA_INFO_KIND is "bridge".
    pub is_bridge: bool,
}

/// Reads an RTM_NEWLINK message (header included, as [`Reply::Message`] gives it).
///
/// ```text
/// nlmsghdr 16 | ifinfomsg 16 (index at 4, flags at 8) | attributes ...
///   IFLA_LINKINFO { IFLA_INFO_KIND "bridge\0" ... }   (absent for lo, eth0 and such)
/// ```
pub fn parse_link_reply(msg: &[u8]) -> Result<LinkInfo, ParseError> {
    let mut rest = msg;
    let (hdr, msg) = next_message(&mut rest)?;
    if u32::from(hdr.ty) != RTM_NEWLINK as u32 {
        return Err(ParseError::UnexpectedType);
    }
    let body = msg.get(NLMSG_HDR_LEN..).unwrap_or(&[]);
    let (ifi, attrs) = body
        .split_first_chunk::<IFINFOMSG_LEN>()
        .ok_or(ParseError::ShortMessage)?;
    let index = u32_at(ifi, 4).ok_or(ParseError::ShortMessage)?;
    let flags = u32_at(ifi, 8).ok_or(ParseError::ShortMessage)?;
    let mut is_bridge = false;
    for attr in Attrs::new(attrs) {
        let (ty, data) = attr?;
        if ty == IFLA_LINKINFO as u16 {
            for inner in Attrs::new(data) {
                let (ty, data) = inner?;
                if ty == IFLA_INFO_KIND as u16 && until_nul(data) == b"bridge" {
                    is_bridge = true;
                }
            }
        }
    }
    Ok(LinkInfo {
        index,
        flags,
        is_bridge,
    })
}

/// Iterator over the attributes in `bytes`: `(type, payload)`, the type without the
/// `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` bits. A malformed attribute yields
/// `Err(ParseError::BadAttribute)` once and ends the iteration.
pub struct Attrs<'r> {
    rest: &'r [u8],
}

impl<'r> Attrs<'r> {
    /// Attributes in `bytes`, which starts at an attribute header.
    pub fn new(bytes: &'r [u8]) -> Self {
        Attrs { rest: bytes }
    }
}

impl<'r> Iterator for Attrs<'r> {
    type Item = Result<(u16, &'r [u8]), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = core::mem::take(&mut self.rest);
        let (len, ty) = match (u16_at(rest, 0), u16_at(rest, 2)) {
            (Some(len), Some(ty)) => (usize::from(len), ty & ATTR_TYPE_MASK),
            _ => return Some(Err(ParseError::BadAttribute)),
        };
        if len < RTA_HDR_LEN {
            return Some(Err(ParseError::BadAttribute));
        }
        let Some(payload) = rest.get(RTA_HDR_LEN..len) else {
            return Some(Err(ParseError::BadAttribute));
        };
        // The last attribute's padding may be missing.
        self.rest = rest.get(align(len)..).unwrap_or(&[]);
        Some(Ok((ty, payload)))
    }
}

#[cfg(test)]
mod tests {
    // Works whether the crate root is `#![no_std]` always or only outside tests.
    extern crate std;

    use super::*;
    use std::boxed::Box;
    use std::vec;
    use std::vec::Vec;

    // -----------------------------------------------------------------------------------------
    // Builders: exact bytes, worked out by hand from the uapi layouts (little-endian hosts).
    // -----------------------------------------------------------------------------------------

    /// Runs a builder on a roomy buffer, checks it wrote nothing past the length it returned,
    /// and returns the message.
    fn build(f: impl Fn(&mut [u8]) -> Result<usize, Overflow>) -> Vec<u8> {
        let mut buf = [0xAAu8; 512];
        let len = f(&mut buf).expect("fits in 512 bytes");
        assert!(
            buf[len..].iter().all(|&b| b == 0xAA),
            "wrote past the returned length"
        );
        assert!(len.is_multiple_of(4));
        buf[..len].to_vec()
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn link_up_bytes() {
        let got = build(|b| link_up(b, 0x0403_0201, 2));
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            32, 0, 0, 0,    // nlmsg_len 32
            16, 0,          // nlmsg_type RTM_NEWLINK (16)
            5, 0,           // nlmsg_flags NLM_F_REQUEST (1) | NLM_F_ACK (4)
            1, 2, 3, 4,     // nlmsg_seq 0x04030201
            0, 0, 0, 0,     // nlmsg_pid 0
            // ifinfomsg
            0,              // ifi_family AF_UNSPEC
            0,              // __ifi_pad
            0, 0,           // ifi_type
            2, 0, 0, 0,     // ifi_index 2
            1, 0, 0, 0,     // ifi_flags IFF_UP
            1, 0, 0, 0,     // ifi_change IFF_UP
        ];
        assert_eq!(got, want);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn veth_pair_bytes() {
        let got = build(|b| veth_pair(b, 1, b"veth0", b"eth0", NetnsRef::Fd(3), None));
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            104, 0, 0, 0,   // nlmsg_len 104
            16, 0,          // RTM_NEWLINK
            0x05, 0x06,     // REQUEST (1) | ACK (4) | EXCL (0x200) | CREATE (0x400) = 0x605
            1, 0, 0, 0,     // seq 1
            0, 0, 0, 0,     // pid
            // ifinfomsg, all zero
            0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            // IFLA_IFNAME (3): 4 + "veth0\0" = 10, padded to 12
            10, 0, 3, 0,  b'v', b'e', b't', b'h', b'0', 0,  0, 0,
            // IFLA_LINKINFO (18): 4 + 12 + 44 = 60
            60, 0, 18, 0,
            //   IFLA_INFO_KIND (1): 4 + "veth\0" = 9, padded to 12
            9, 0, 1, 0,  b'v', b'e', b't', b'h', 0,  0, 0, 0,
            //   IFLA_INFO_DATA (2): 4 + 40 = 44
            44, 0, 2, 0,
            //     VETH_INFO_PEER (1): 4 + 16 + 12 + 8 = 40
            40, 0, 1, 0,
            //       ifinfomsg, all zero
            0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            //       IFLA_IFNAME (3): 4 + "eth0\0" = 9, padded to 12
            9, 0, 3, 0,  b'e', b't', b'h', b'0', 0,  0, 0, 0,
            //       IFLA_NET_NS_FD (28): fd 3
            8, 0, 28, 0,  3, 0, 0, 0,
        ];
        assert_eq!(got, want);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn veth_pair_with_main_netns_bytes() {
        let got = build(|b| {
            veth_pair(
                b,
                2,
                b"ve",
                b"eth0",
                NetnsRef::Pid(1234),
                Some(NetnsRef::Fd(7)),
            )
        });
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            108, 0, 0, 0,   // nlmsg_len 108
            16, 0,          // RTM_NEWLINK
            0x05, 0x06,     // REQUEST | ACK | EXCL | CREATE
            2, 0, 0, 0,     // seq 2
            0, 0, 0, 0,     // pid
            // ifinfomsg, all zero
            0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            // IFLA_NET_NS_FD (28): fd 7, for the main end
            8, 0, 28, 0,  7, 0, 0, 0,
            // IFLA_IFNAME (3): 4 + "ve\0" = 7, padded to 8
            7, 0, 3, 0,  b'v', b'e', 0,  0,
            // IFLA_LINKINFO (18): 4 + 12 + 44 = 60
            60, 0, 18, 0,
            //   IFLA_INFO_KIND (1): "veth\0"
            9, 0, 1, 0,  b'v', b'e', b't', b'h', 0,  0, 0, 0,
            //   IFLA_INFO_DATA (2)
            44, 0, 2, 0,
            //     VETH_INFO_PEER (1)
            40, 0, 1, 0,
            //       ifinfomsg, all zero
            0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            //       IFLA_IFNAME (3): "eth0\0"
            9, 0, 3, 0,  b'e', b't', b'h', b'0', 0,  0, 0, 0,
            //       IFLA_NET_NS_PID (19): pid 1234 = 0x04d2
            8, 0, 19, 0,  0xd2, 0x04, 0, 0,
        ];
        assert_eq!(got, want);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn set_master_bytes() {
        #[rustfmt::skip]
        let want_up: &[u8] = &[
            // nlmsghdr
            40, 0, 0, 0,    // nlmsg_len 40
            16, 0,          // RTM_NEWLINK
            5, 0,           // REQUEST | ACK
            9, 0, 0, 0,     // seq 9
            0, 0, 0, 0,     // pid
            // ifinfomsg
            0, 0, 0, 0,     // family, pad, type
            4, 0, 0, 0,     // ifi_index 4
            1, 0, 0, 0,     // ifi_flags IFF_UP
            1, 0, 0, 0,     // ifi_change IFF_UP
            // IFLA_MASTER (10): ifindex 3
            8, 0, 10, 0,  3, 0, 0, 0,
        ];
        assert_eq!(build(|b| set_master(b, 9, 4, 3, true)), want_up);

        let mut want_down = want_up.to_vec();
        want_down[24..32].fill(0); // ifi_flags and ifi_change 0: leave the state alone
        assert_eq!(build(|b| set_master(b, 9, 4, 3, false)), want_down);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn link_by_name_bytes() {
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            40, 0, 0, 0,    // nlmsg_len 40
            18, 0,          // RTM_GETLINK (18)
            5, 0,           // REQUEST | ACK
            2, 0, 0, 0,     // seq 2
            0, 0, 0, 0,     // pid
            // ifinfomsg, all zero: index 0, look up by name
            0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            // IFLA_IFNAME (3): 4 + "br0\0" = 8, no padding
            8, 0, 3, 0,  b'b', b'r', b'0', 0,
        ];
        assert_eq!(build(|b| link_by_name(b, 2, b"br0")), want);

        // A 15-byte name (IFNAMSIZ - 1): 4 + 16 = 20, no padding.
        let got = build(|b| link_by_name(b, 2, b"abcdefghijklmno"));
        assert_eq!(got.len(), 32 + 20);
        assert_eq!(&got[32..36], &[20, 0, 3, 0]);
        assert_eq!(&got[36..52], b"abcdefghijklmno\0");
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn add_address_v4_bytes() {
        let cidr = IpCidr {
            addr: IpAddr::V4([10, 0, 0, 2]),
            prefix: 24,
        };
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            40, 0, 0, 0,    // nlmsg_len 40
            20, 0,          // RTM_NEWADDR (20)
            0x05, 0x06,     // REQUEST | ACK | EXCL | CREATE
            3, 0, 0, 0,     // seq 3
            0, 0, 0, 0,     // pid
            // ifaddrmsg
            2,              // ifa_family AF_INET
            24,             // ifa_prefixlen
            0,              // ifa_flags
            0,              // ifa_scope RT_SCOPE_UNIVERSE
            5, 0, 0, 0,     // ifa_index 5
            // IFA_LOCAL (2): 10.0.0.2, network order
            8, 0, 2, 0,  10, 0, 0, 2,
            // IFA_ADDRESS (1): 10.0.0.2
            8, 0, 1, 0,  10, 0, 0, 2,
        ];
        assert_eq!(build(|b| add_address(b, 3, 5, &cidr)), want);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn add_address_v6_bytes() {
        let mut fd00_2 = [0u8; 16];
        fd00_2[0] = 0xfd;
        fd00_2[15] = 2;
        let cidr = IpCidr {
            addr: IpAddr::V6(fd00_2),
            prefix: 64,
        };
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            72, 0, 0, 0,    // nlmsg_len 72
            20, 0,          // RTM_NEWADDR
            0x05, 0x06,     // REQUEST | ACK | EXCL | CREATE
            4, 0, 0, 0,     // seq 4
            0, 0, 0, 0,     // pid
            // ifaddrmsg
            10,             // ifa_family AF_INET6
            64,             // ifa_prefixlen
            2,              // ifa_flags IFA_F_NODAD
            0,              // ifa_scope RT_SCOPE_UNIVERSE
            5, 0, 0, 0,     // ifa_index 5
            // IFA_LOCAL (2): fd00::2
            20, 0, 2, 0,
            0xfd, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 2,
            // IFA_ADDRESS (1): fd00::2
            20, 0, 1, 0,
            0xfd, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 2,
            // IFA_FLAGS (8): u32 IFA_F_NODAD
            8, 0, 8, 0,  2, 0, 0, 0,
        ];
        assert_eq!(build(|b| add_address(b, 4, 5, &cidr)), want);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn add_default_route_v4_bytes() {
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            36, 0, 0, 0,    // nlmsg_len 36
            24, 0,          // RTM_NEWROUTE (24)
            0x05, 0x06,     // REQUEST | ACK | EXCL | CREATE
            5, 0, 0, 0,     // seq 5
            0, 0, 0, 0,     // pid
            // rtmsg
            2,              // rtm_family AF_INET
            0,              // rtm_dst_len 0: default route
            0,              // rtm_src_len
            0,              // rtm_tos
            254,            // rtm_table RT_TABLE_MAIN
            3,              // rtm_protocol RTPROT_BOOT
            0,              // rtm_scope RT_SCOPE_UNIVERSE
            1,              // rtm_type RTN_UNICAST
            0, 0, 0, 0,     // rtm_flags
            // RTA_GATEWAY (5): 10.0.0.1
            8, 0, 5, 0,  10, 0, 0, 1,
        ];
        assert_eq!(
            build(|b| add_default_route(b, 5, &IpAddr::V4([10, 0, 0, 1]), None)),
            want
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn add_default_route_v6_bytes() {
        let mut fe80_1 = [0u8; 16];
        fe80_1[0] = 0xfe;
        fe80_1[1] = 0x80;
        fe80_1[15] = 1;
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            56, 0, 0, 0,    // nlmsg_len 56
            24, 0,          // RTM_NEWROUTE
            0x05, 0x06,     // REQUEST | ACK | EXCL | CREATE
            6, 0, 0, 0,     // seq 6
            0, 0, 0, 0,     // pid
            // rtmsg
            10,             // rtm_family AF_INET6
            0, 0, 0,        // dst_len, src_len, tos
            254,            // RT_TABLE_MAIN
            3,              // RTPROT_BOOT
            0,              // RT_SCOPE_UNIVERSE
            1,              // RTN_UNICAST
            0, 0, 0, 0,     // rtm_flags
            // RTA_GATEWAY (5): fe80::1
            20, 0, 5, 0,
            0xfe, 0x80, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 1,
            // RTA_OIF (4): ifindex 3
            8, 0, 4, 0,  3, 0, 0, 0,
        ];
        let got = build(|b| add_default_route(b, 6, &IpAddr::V6(fe80_1), Some(3)));
        assert_eq!(got, want);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn delete_link_bytes() {
        #[rustfmt::skip]
        let want: &[u8] = &[
            // nlmsghdr
            32, 0, 0, 0,    // nlmsg_len 32
            17, 0,          // RTM_DELLINK (17)
            5, 0,           // REQUEST | ACK
            8, 0, 0, 0,     // seq 8
            0, 0, 0, 0,     // pid
            // ifinfomsg
            0, 0, 0, 0,     // family, pad, type
            7, 0, 0, 0,     // ifi_index 7
            0, 0, 0, 0,     // ifi_flags
            0, 0, 0, 0,     // ifi_change
        ];
        assert_eq!(build(|b| delete_link(b, 8, 7)), want);
    }

    // -----------------------------------------------------------------------------------------
    // Builders: overflow
    // -----------------------------------------------------------------------------------------

    type Builder = Box<dyn Fn(&mut [u8]) -> Result<usize, Overflow>>;

    fn all_builders() -> Vec<(&'static str, Builder)> {
        let v4 = IpCidr {
            addr: IpAddr::V4([192, 168, 1, 1]),
            prefix: 32,
        };
        let v6 = IpCidr {
            addr: IpAddr::V6([0x20; 16]),
            prefix: 128,
        };
        vec![
            (
                "link_up",
                Box::new(|b: &mut [u8]| link_up(b, 1, 1)) as Builder,
            ),
            (
                "veth",
                Box::new(|b: &mut [u8]| veth_pair(b, 1, b"a", b"b", NetnsRef::Fd(1), None)),
            ),
            (
                "veth ns",
                Box::new(|b: &mut [u8]| {
                    veth_pair(
                        b,
                        1,
                        b"host0123456789a",
                        b"eth0",
                        NetnsRef::Pid(1),
                        Some(NetnsRef::Pid(2)),
                    )
                }),
            ),
            (
                "veth empty",
                Box::new(|b: &mut [u8]| veth_pair(b, 1, b"", b"", NetnsRef::Fd(1), None)),
            ),
            (
                "set_master",
                Box::new(|b: &mut [u8]| set_master(b, 1, 2, 3, true)),
            ),
            (
                "link_by_name",
                Box::new(|b: &mut [u8]| link_by_name(b, 1, b"eth0")),
            ),
            (
                "link_by_name 3",
                Box::new(|b: &mut [u8]| link_by_name(b, 1, b"br0")),
            ),
            (
                "addr v4",
                Box::new(move |b: &mut [u8]| add_address(b, 1, 2, &v4)),
            ),
            (
                "addr v6",
                Box::new(move |b: &mut [u8]| add_address(b, 1, 2, &v6)),
            ),
            (
                "route v4",
                Box::new(|b: &mut [u8]| add_default_route(b, 1, &IpAddr::V4([1; 4]), None)),
            ),
            (
                "route v4 oif",
                Box::new(|b: &mut [u8]| add_default_route(b, 1, &IpAddr::V4([1; 4]), Some(2))),
            ),
            (
                "route v6",
                Box::new(|b: &mut [u8]| add_default_route(b, 1, &IpAddr::V6([1; 16]), Some(2))),
            ),
            ("delete_link", Box::new(|b: &mut [u8]| delete_link(b, 1, 1))),
        ]
    }

    #[test]
    fn every_short_buffer_overflows_and_is_left_alone() {
        for (name, f) in all_builders() {
            let need = build(&f).len();
            for n in 0..need {
                let mut buf = vec![0xAAu8; n];
                assert_eq!(f(&mut buf), Err(Overflow), "{name} with {n} bytes");
                assert!(
                    buf.iter().all(|&b| b == 0xAA),
                    "{name} wrote into a short buffer"
                );
            }
            let mut buf = vec![0u8; need];
            assert_eq!(f(&mut buf), Ok(need), "{name} with exactly {need} bytes");
        }
    }

    #[test]
    fn builder_lengths_are_patched_in() {
        for (name, f) in all_builders() {
            let msg = build(&f);
            let nlmsg_len = u32::from_ne_bytes(msg[0..4].try_into().unwrap()) as usize;
            assert_eq!(nlmsg_len, msg.len(), "{name}");
            // The message parses as one message whose attributes are well formed.
            let mut rest = &msg[..];
            let (hdr, body) = next_message(&mut rest).unwrap();
            assert!(rest.is_empty());
            assert_eq!(hdr.len, msg.len());
            let fixed = match u32::from(hdr.ty) {
                t if t == RTM_NEWADDR as u32 => IFADDRMSG_LEN,
                t if t == RTM_NEWROUTE as u32 => RTMSG_LEN,
                _ => IFINFOMSG_LEN,
            };
            for a in Attrs::new(&body[NLMSG_HDR_LEN + fixed..]) {
                a.unwrap();
            }
        }
    }

    #[test]
    fn oversized_attributes_overflow_instead_of_wrapping() {
        // rta_len is a u16: 4 + 65531 + NUL does not fit even with buffer to spare.
        let name = vec![b'x'; 65531];
        let mut buf = vec![0u8; 70_000];
        assert_eq!(link_by_name(&mut buf, 1, &name), Err(Overflow));
        assert_eq!(
            veth_pair(&mut buf, 1, b"a", &name, NetnsRef::Fd(1), None),
            Err(Overflow)
        );
        // 65530 bytes + NUL + 4 = 65535: the largest attribute.
        let name = vec![b'x'; 65530];
        assert_eq!(link_by_name(&mut buf, 1, &name), Ok(32 + 65536));
        // A nest whose content exceeds 65535 bytes.
        let mut m = Message::new(&mut buf, 16, 0, 0).unwrap();
        let nest = m.begin_nest(1).unwrap();
        m.attr(2, &[0u8; 65000]).unwrap();
        m.attr(3, &[0u8; 1000]).unwrap();
        assert_eq!(m.end_nest(nest), Err(Overflow));
    }

    #[test]
    fn message_writer_pads_and_nests() {
        let mut buf = [0xAAu8; 64];
        let mut m = Message::new(&mut buf, 0x1234, 0x0105, 77).unwrap();
        m.put(&[1, 2, 3]).unwrap(); // padded to 4
        let outer = m.begin_nest(9).unwrap();
        m.attr(1, &[]).unwrap(); // empty payload: rta_len 4
        let inner = m.begin_nest(2).unwrap();
        m.attr(3, &[7]).unwrap(); // rta_len 5, padded to 8
        m.end_nest(inner).unwrap();
        m.end_nest(outer).unwrap();
        let len = m.finish();
        let mut want = Vec::new();
        want.extend_from_slice(&40u32.to_ne_bytes());
        want.extend_from_slice(&0x1234u16.to_ne_bytes());
        want.extend_from_slice(&0x0105u16.to_ne_bytes());
        want.extend_from_slice(&77u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&[1, 2, 3, 0]);
        for (len, ty) in [(20u16, 9u16), (4, 1), (12, 2), (5, 3)] {
            want.extend_from_slice(&len.to_ne_bytes());
            want.extend_from_slice(&ty.to_ne_bytes());
        }
        want.extend_from_slice(&[7, 0, 0, 0]);
        assert_eq!(&buf[..len], &want[..]);
        assert!(buf[len..].iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn message_writer_refuses_without_writing() {
        let mut buf = [0xAAu8; 24];
        let mut m = Message::new(&mut buf, 1, 0, 0).unwrap();
        assert_eq!(m.attr(1, &[1, 2, 3, 4, 5]), Err(Overflow)); // needs 12, 8 left
        m.attr(1, &[1]).unwrap(); // needs 8: fits exactly
        assert_eq!(m.attr(1, &[]), Err(Overflow));
        assert_eq!(m.put(&[1]), Err(Overflow));
        assert!(m.begin_nest(1).is_err());
        assert_eq!(m.finish(), 24);
        assert_eq!(Message::new(&mut [0u8; 15], 1, 0, 0).err(), Some(Overflow));
    }

    #[test]
    fn address_helpers() {
        let v4 = IpAddr::V4([127, 0, 0, 1]);
        let v6 = IpAddr::V6([0; 16]);
        assert_eq!(
            (v4.family(), v4.octets(), v4.max_prefix()),
            (2, &[127, 0, 0, 1][..], 32)
        );
        assert_eq!(
            (v6.family(), v6.octets().len(), v6.max_prefix()),
            (10, 16, 128)
        );
        assert_eq!(
            IpCidr {
                addr: v6,
                prefix: 64
            }
            .family(),
            AF_INET6
        );
        assert_eq!(
            IpCidr {
                addr: v4,
                prefix: 8
            }
            .family(),
            AF_INET
        );
    }

    // -----------------------------------------------------------------------------------------
    // Replies
    // -----------------------------------------------------------------------------------------

    /// One netlink message around `body`, padded.
    fn nlmsg(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&4242u32.to_ne_bytes()); // our port id
        m.extend_from_slice(body);
        while !m.len().is_multiple_of(4) {
            m.push(0);
        }
        m
    }

    /// One attribute, padded.
    fn tlv(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(payload);
        while !a.len().is_multiple_of(4) {
            a.push(0);
        }
        a
    }

    /// An NLMSG_ERROR answering `request` the way net/netlink/af_netlink.c:netlink_ack()
    /// lays it out: error, the request (only its header when `capped`), then `tlvs`.
    fn error_reply(seq: u32, error: i32, request: &[u8], capped: bool, tlvs: &[u8]) -> Vec<u8> {
        let mut body = error.to_ne_bytes().to_vec();
        body.extend_from_slice(if capped { &request[..16] } else { request });
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        body.extend_from_slice(tlvs);
        let mut flags = 0u16;
        if capped {
            flags |= NLM_F_CAPPED as u16;
        }
        if !tlvs.is_empty() {
            flags |= NLM_F_ACK_TLVS as u16;
        }
        nlmsg(NLMSG_ERROR as u16, flags, seq, &body)
    }

    fn request(seq: u32) -> Vec<u8> {
        build(|b| link_up(b, seq, 1))
    }

    fn kernel_error(errno: i32, message: Option<&[u8]>) -> KernelError<'_> {
        KernelError { errno, message }
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn plain_ack_bytes() {
        #[rustfmt::skip]
        let reply: &[u8] = &[
            // nlmsghdr
            36, 0, 0, 0,        // nlmsg_len 36
            2, 0,               // NLMSG_ERROR
            0x00, 0x01,         // NLM_F_CAPPED (0x100): acks carry only the request header
            7, 0, 0, 0,         // seq 7
            0x92, 0x10, 0, 0,   // pid: our port
            // nlmsgerr
            0, 0, 0, 0,         // error 0: ack
            32, 0, 0, 0,  16, 0,  5, 0,  7, 0, 0, 0,  0x92, 0x10, 0, 0, // the request's header
        ];
        assert_eq!(parse_ack(reply, 7), Ok(AckOutcome::Ack));
        assert_eq!(parse_reply(reply, 7), Ok(Reply::Ack));
        assert_eq!(parse_ack(reply, 8), Ok(AckOutcome::Pending));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn capped_extended_ack_bytes() {
        #[rustfmt::skip]
        let reply: &[u8] = &[
            // nlmsghdr
            60, 0, 0, 0,        // nlmsg_len 16 + 4 + 16 + 16 + 8 = 60
            2, 0,               // NLMSG_ERROR
            0x00, 0x03,         // NLM_F_CAPPED (0x100) | NLM_F_ACK_TLVS (0x200)
            3, 0, 0, 0,         // seq 3
            0, 0, 0, 0,         // pid
            // nlmsgerr
            0xed, 0xff, 0xff, 0xff, // error -19 (ENODEV)
            32, 0, 0, 0,  18, 0,  5, 0,  3, 0, 0, 0,  0, 0, 0, 0, // request header only
            // NLMSGERR_ATTR_MSG (1): 4 + "no device\0" = 14, padded to 16
            14, 0, 1, 0,  b'n', b'o', b' ', b'd', b'e', b'v', b'i', b'c', b'e', 0,  0, 0,
            // NLMSGERR_ATTR_OFFS (2): u32 offset 32
            8, 0, 2, 0,  32, 0, 0, 0,
        ];
        let want = AckOutcome::Error(kernel_error(19, Some(b"no device")));
        assert_eq!(parse_ack(reply, 3), Ok(want));
    }

    // Replies captured from Linux 6.18 to `link_by_name(.., 101, b"abcdefghijklmnop")` (a
    // 16-byte name, one too long) with NETLINK_EXT_ACK set, NETLINK_CAP_ACK off and on.

    /// The request both replies answer, as sent: 56 bytes.
    #[rustfmt::skip]
    const LONG_NAME_REQUEST: [u8; 56] = [
        0x38, 0, 0, 0,  0x12, 0,  0x05, 0,  0x65, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr
        0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,              // ifinfomsg
        0x15, 0, 0x03, 0,                                               // IFLA_IFNAME, len 21
        b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h',
        b'i', b'j', b'k', b'l', b'm', b'n', b'o', b'p',  0,  0, 0, 0,
    ];

    /// The extended-ack attributes the kernel appends: 40 + 8 + 20 = 68 bytes.
    #[rustfmt::skip]
    const POLICY_TLVS: [u8; 68] = [
        // NLMSGERR_ATTR_MSG (1): len 39 = 4 + 34 + NUL, 1 byte of padding
        0x27, 0, 0x01, 0,
        b'A', b't', b't', b'r', b'i', b'b', b'u', b't', b'e', b' ',
        b'f', b'a', b'i', b'l', b'e', b'd', b' ',
        b'p', b'o', b'l', b'i', b'c', b'y', b' ',
        b'v', b'a', b'l', b'i', b'd', b'a', b't', b'i', b'o', b'n', 0,  0,
        // NLMSGERR_ATTR_OFFS (2): the bad attribute is at offset 32 of the request
        8, 0, 0x02, 0,  0x20, 0, 0, 0,
        // NLMSGERR_ATTR_POLICY (4) with NLA_F_NESTED (0x8000): len 20
        0x14, 0, 0x04, 0x80,
        8, 0, 0x07, 0,  0x0f, 0, 0, 0,  // NL_POLICY_TYPE_ATTR_MAX_LENGTH 15
        8, 0, 0x01, 0,  0x0b, 0, 0, 0,  // NL_POLICY_TYPE_ATTR_TYPE NL_ATTR_TYPE_STRING
    ];

    fn captured(flags: [u8; 2], embedded: &[u8], tlvs: &[u8]) -> Vec<u8> {
        let len = 16 + 4 + embedded.len() + tlvs.len();
        let mut r = Vec::new();
        r.extend_from_slice(&[len as u8, 0, 0, 0]); // nlmsg_len (< 256 here)
        r.extend_from_slice(&[0x02, 0]); // NLMSG_ERROR
        r.extend_from_slice(&flags);
        r.extend_from_slice(&[0x65, 0, 0, 0]); // seq 101
        r.extend_from_slice(&[0xa2, 0x0c, 0, 0]); // pid: the socket's port id
        r.extend_from_slice(&[0xde, 0xff, 0xff, 0xff]); // error -34 (ERANGE)
        r.extend_from_slice(embedded);
        r.extend_from_slice(tlvs);
        r
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_extended_acks() {
        let want = AckOutcome::Error(kernel_error(
            34,
            Some(b"Attribute failed policy validation"),
        ));
        // Uncapped: flags NLM_F_ACK_TLVS (0x200), the whole request embedded; 144 bytes.
        let uncapped = captured([0, 0x02], &LONG_NAME_REQUEST, &POLICY_TLVS);
        assert_eq!(uncapped.len(), 144);
        assert_eq!(parse_ack(&uncapped, 101), Ok(want));
        // Capped: flags NLM_F_CAPPED | NLM_F_ACK_TLVS (0x300), only its header; 104 bytes.
        let capped = captured([0, 0x03], &LONG_NAME_REQUEST[..16], &POLICY_TLVS);
        assert_eq!(capped.len(), 104);
        assert_eq!(parse_ack(&capped, 101), Ok(want));
        // Without NETLINK_EXT_ACK: flags 0, the request, no TLVs; 76 bytes.
        let plain = captured([0, 0], &LONG_NAME_REQUEST, &[]);
        assert_eq!(
            parse_ack(&plain, 101),
            Ok(AckOutcome::Error(kernel_error(34, None)))
        );
        // The request is what link_by_name builds.
        assert_eq!(
            build(|b| link_by_name(b, 101, b"abcdefghijklmnop")),
            LONG_NAME_REQUEST
        );
        for reply in [uncapped, capped, plain] {
            for n in 0..reply.len() {
                parse_everything(&reply[..n]);
            }
        }
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_ack() {
        // The kernel's ack to link_up(.., 103, 1): NLM_F_CAPPED is set on every success ack,
        // whether or not NETLINK_CAP_ACK is.
        #[rustfmt::skip]
        let reply: &[u8] = &[
            0x24, 0, 0, 0,  0x02, 0,  0x00, 0x01,  0x67, 0, 0, 0,  0xa2, 0x0c, 0, 0,
            0, 0, 0, 0,
            0x20, 0, 0, 0,  0x10, 0,  0x05, 0,  0x67, 0, 0, 0,  0, 0, 0, 0,
        ];
        assert_eq!(parse_ack(reply, 103), Ok(AckOutcome::Ack));
    }

    #[test]
    fn error_without_extended_ack() {
        let req = request(11);
        for capped in [false, true] {
            let reply = error_reply(11, -17, &req, capped, &[]);
            assert_eq!(
                parse_ack(&reply, 11),
                Ok(AckOutcome::Error(kernel_error(17, None)))
            );
            assert_eq!(
                parse_reply(&reply, 11),
                Ok(Reply::Error(kernel_error(17, None)))
            );
        }
    }

    #[test]
    fn error_with_extended_ack_capped_and_uncapped() {
        // A request whose length is not a multiple of 4 when uncapped would shift the TLVs;
        // veth_pair with odd names has padding inside, but its nlmsg_len stays aligned.
        let reqs = [
            request(5),
            build(|b| veth_pair(b, 5, b"a", b"bcd", NetnsRef::Fd(9), None)),
        ];
        for req in &reqs {
            for capped in [false, true] {
                let mut tlvs = tlv(2, &16u32.to_ne_bytes()); // NLMSGERR_ATTR_OFFS first
                tlvs.extend(tlv(1, b"Attribute failed policy validation\0"));
                let reply = error_reply(5, -34, req, capped, &tlvs);
                let want = kernel_error(34, Some(&b"Attribute failed policy validation"[..]));
                assert_eq!(
                    parse_ack(&reply, 5),
                    Ok(AckOutcome::Error(want)),
                    "capped {capped}"
                );
            }
        }
    }

    #[test]
    fn extended_ack_without_message_and_with_nested_flag() {
        let req = request(5);
        let reply = error_reply(5, -22, &req, true, &tlv(2, &20u32.to_ne_bytes()));
        assert_eq!(
            parse_ack(&reply, 5),
            Ok(AckOutcome::Error(kernel_error(22, None)))
        );
        // NLA_F_NESTED / NLA_F_NET_BYTEORDER bits are masked off the type.
        let reply = error_reply(5, -22, &req, true, &tlv(0x8001, b"hi\0"));
        assert_eq!(
            parse_ack(&reply, 5),
            Ok(AckOutcome::Error(kernel_error(22, Some(b"hi"))))
        );
        // A message without NUL is taken whole.
        let reply = error_reply(5, -22, &req, true, &tlv(1, b"abcd"));
        assert_eq!(
            parse_ack(&reply, 5),
            Ok(AckOutcome::Error(kernel_error(22, Some(b"abcd"))))
        );
    }

    #[test]
    fn malformed_extended_ack_still_reports_errno() {
        let req = request(5);
        let mut bad_tlv = tlv(1, b"text\0");
        bad_tlv[0] = 200; // rta_len past the end
        let reply = error_reply(5, -1, &req, true, &bad_tlv);
        assert_eq!(
            parse_ack(&reply, 5),
            Ok(AckOutcome::Error(kernel_error(1, None)))
        );
        // Uncapped, with an embedded request length that is too big or too small.
        for orig_len in [0u32, 4, 15, 1000, u32::MAX] {
            let mut reply = error_reply(5, -1, &req, false, &tlv(1, b"x\0"));
            // Set NLM_F_ACK_TLVS, then overwrite the embedded nlmsg_len.
            reply[6..8].copy_from_slice(&(NLM_F_ACK_TLVS as u16).to_ne_bytes());
            reply[20..24].copy_from_slice(&orig_len.to_ne_bytes());
            assert_eq!(
                parse_ack(&reply, 5),
                Ok(AckOutcome::Error(kernel_error(1, None)))
            );
        }
        // The flag without any TLVs.
        let mut reply = error_reply(5, -1, &req, true, &[]);
        reply[6..8].copy_from_slice(&((NLM_F_ACK_TLVS | NLM_F_CAPPED) as u16).to_ne_bytes());
        assert_eq!(
            parse_ack(&reply, 5),
            Ok(AckOutcome::Error(kernel_error(1, None)))
        );
    }

    #[test]
    fn bad_error_codes() {
        let req = request(5);
        for code in [1, i32::MAX, i32::MIN] {
            let reply = error_reply(5, code, &req, true, &[]);
            assert_eq!(
                parse_ack(&reply, 5),
                Err(ParseError::BadError),
                "code {code}"
            );
        }
        // Shorter than struct nlmsgerr.
        let reply = nlmsg(NLMSG_ERROR as u16, 0, 5, &0i32.to_ne_bytes());
        assert_eq!(parse_ack(&reply, 5), Err(ParseError::BadError));
        let reply = nlmsg(NLMSG_ERROR as u16, 0, 5, &[]);
        assert_eq!(parse_ack(&reply, 5), Err(ParseError::BadError));
    }

    #[test]
    fn wrong_seq_is_skipped() {
        let stale = error_reply(1, 0, &request(1), true, &[]);
        let other = error_reply(2, -17, &request(2), false, &[]);
        let ours = error_reply(3, -19, &request(3), true, &tlv(1, b"gone\0"));
        let mut reply = stale.clone();
        reply.extend_from_slice(&other);
        assert_eq!(parse_ack(&reply, 3), Ok(AckOutcome::Pending));
        reply.extend_from_slice(&ours);
        let want = kernel_error(19, Some(b"gone"));
        assert_eq!(parse_ack(&reply, 3), Ok(AckOutcome::Error(want)));
        assert_eq!(parse_ack(&reply, 1), Ok(AckOutcome::Ack));
        assert_eq!(
            parse_ack(&reply, 2),
            Ok(AckOutcome::Error(kernel_error(17, None)))
        );
        assert_eq!(parse_ack(&[], 3), Ok(AckOutcome::Pending));
    }

    #[test]
    fn data_messages_and_noops() {
        let link = nlmsg(RTM_NEWLINK as u16, 0, 4, &ifinfomsg(3, 0x1043, 0));
        let noop = nlmsg(NLMSG_NOOP as u16, 0, 4, &[]);
        let ack = error_reply(4, 0, &request(4), true, &[]);
        let mut reply = noop.clone();
        reply.extend_from_slice(&link);
        reply.extend_from_slice(&ack);
        // parse_ack skips the data; parse_reply returns it, exactly nlmsg_len bytes.
        assert_eq!(parse_ack(&reply, 4), Ok(AckOutcome::Ack));
        assert_eq!(parse_reply(&reply, 4), Ok(Reply::Message(&link[..])));
        assert_eq!(parse_ack(&link, 4), Ok(AckOutcome::Pending));
        assert_eq!(parse_reply(&link, 5), Ok(Reply::Pending));
        assert_eq!(parse_reply(&noop, 4), Ok(Reply::Pending));
    }

    #[test]
    fn framing_errors() {
        let ack = error_reply(1, 0, &request(1), true, &[]);
        // Less than a header.
        assert_eq!(parse_ack(&ack[..15], 1), Err(ParseError::Truncated));
        // nlmsg_len past the end.
        assert_eq!(parse_ack(&ack[..32], 1), Err(ParseError::Truncated));
        // nlmsg_len smaller than a header; 0 would otherwise loop forever.
        for len in [0u32, 4, 12] {
            let mut bad = ack.clone();
            bad[0..4].copy_from_slice(&len.to_ne_bytes());
            assert_eq!(parse_ack(&bad, 1), Err(ParseError::BadLength), "len {len}");
        }
        // Misaligned.
        let mut bad = ack.clone();
        bad[0..4].copy_from_slice(&35u32.to_ne_bytes());
        assert_eq!(parse_ack(&bad, 1), Err(ParseError::Misaligned));
        // A good message followed by trailing garbage: the good one is found first...
        let mut two = ack.clone();
        two.extend_from_slice(&[1, 2, 3]);
        assert_eq!(parse_ack(&two, 1), Ok(AckOutcome::Ack));
        // ...but searching past it hits the garbage.
        assert_eq!(parse_ack(&two, 2), Err(ParseError::Truncated));
        // nlmsg_len huge.
        let mut bad = ack.clone();
        bad[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse_ack(&bad, 1).is_err());
    }

    /// A deterministic pseudo-random generator (xorshift64*), enough to shake the parsers.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn byte(&mut self) -> u8 {
            (self.next() >> 56) as u8
        }
    }

    fn sample_replies() -> Vec<Vec<u8>> {
        let req = build(|b| veth_pair(b, 9, b"veth0", b"eth0", NetnsRef::Fd(3), None));
        let mut msg_tlvs = tlv(1, b"Nexthop has invalid gateway\0");
        msg_tlvs.extend(tlv(2, &40u32.to_ne_bytes()));
        let link = {
            let mut body = ifinfomsg(5, 0x1003, 0).to_vec();
            body.extend(tlv(3, b"br0\0"));
            let mut kind = tlv(1, b"bridge\0");
            kind.extend(tlv(2, &tlv(1, &[0; 8])));
            body.extend(tlv(18, &kind));
            nlmsg(RTM_NEWLINK as u16, 0, 9, &body)
        };
        let mut two = error_reply(8, 0, &request(8), true, &[]);
        two.extend(error_reply(9, -17, &req, false, &msg_tlvs));
        vec![
            error_reply(9, 0, &req, true, &[]),
            error_reply(9, -17, &req, false, &[]),
            error_reply(9, -101, &req, true, &msg_tlvs),
            error_reply(9, -101, &req, false, &msg_tlvs),
            link,
            two,
        ]
    }

    /// Runs every parser on `bytes`; they may fail but must not panic.
    fn parse_everything(bytes: &[u8]) {
        for seq in [0, 8, 9] {
            let _ = parse_ack(bytes, seq);
            let _ = parse_reply(bytes, seq);
        }
        let _ = parse_link_reply(bytes);
        for a in Attrs::new(bytes) {
            let _ = a;
        }
    }

    #[test]
    fn every_prefix_of_a_reply_is_safe() {
        for reply in sample_replies() {
            for n in 0..reply.len() {
                parse_everything(&reply[..n]);
                // A prefix never yields an answer from a message cut short.
                match parse_ack(&reply[..n], 9) {
                    Ok(AckOutcome::Pending) | Err(_) => {}
                    Ok(other) => {
                        // Only possible when a complete earlier message (seq 9) fits.
                        let first = u32::from_ne_bytes(reply[0..4].try_into().unwrap());
                        assert!(first as usize <= n, "{other:?} from {n} bytes");
                    }
                }
            }
            parse_everything(&reply);
        }
    }

    #[test]
    fn random_bytes_and_mutations_are_safe() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = (rng.next() % 200) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            parse_everything(&bytes);
        }
        // Valid replies with a few bytes changed reach much deeper.
        let samples = sample_replies();
        for _ in 0..50_000 {
            let mut reply = samples[(rng.next() % samples.len() as u64) as usize].clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() % reply.len() as u64) as usize;
                reply[at] = match rng.next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.byte(),
                };
            }
            parse_everything(&reply);
        }
    }

    // -----------------------------------------------------------------------------------------
    // RTM_NEWLINK replies
    // -----------------------------------------------------------------------------------------

    fn link_reply(index: u32, flags: u32, kind: Option<&[u8]>) -> Vec<u8> {
        let mut body = ifinfomsg(index, flags, 0).to_vec();
        body.extend(tlv(3, b"x0\0")); // IFLA_IFNAME
        body.extend(tlv(4, &1500u32.to_ne_bytes())); // IFLA_MTU
        if let Some(kind) = kind {
            let mut info = tlv(1, kind); // IFLA_INFO_KIND
            info.extend(tlv(2, &tlv(1, &[0; 8]))); // IFLA_INFO_DATA { ... }
            body.extend(tlv(18 | 0x8000, &info)); // IFLA_LINKINFO, with NLA_F_NESTED
        }
        body.extend(tlv(10, &3u32.to_ne_bytes())); // IFLA_MASTER
        nlmsg(RTM_NEWLINK as u16, 0, 1, &body)
    }

    #[test]
    fn link_reply_fields() {
        let info = |index, flags, is_bridge| LinkInfo {
            index,
            flags,
            is_bridge,
        };
        assert_eq!(
            parse_link_reply(&link_reply(1, 0x49, None)),
            Ok(info(1, 0x49, false))
        );
        let reply = link_reply(7, 0x11043, Some(b"bridge\0"));
        assert_eq!(parse_link_reply(&reply), Ok(info(7, 0x11043, true)));
        let reply = link_reply(8, 0x1002, Some(b"veth\0"));
        assert_eq!(parse_link_reply(&reply), Ok(info(8, 0x1002, false)));
        let reply = link_reply(8, 0x1002, Some(b"bridge2\0"));
        assert_eq!(parse_link_reply(&reply), Ok(info(8, 0x1002, false)));
        // Trailing bytes after the message (the rest of the datagram) are ignored.
        let mut reply = link_reply(9, 1, Some(b"bridge\0"));
        reply.extend(error_reply(1, 0, &request(1), true, &[]));
        assert_eq!(parse_link_reply(&reply), Ok(info(9, 1, true)));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn link_reply_bytes() {
        #[rustfmt::skip]
        let reply: &[u8] = &[
            // nlmsghdr
            56, 0, 0, 0,    // nlmsg_len 16 + 16 + 8 + 16 = 56
            16, 0,          // RTM_NEWLINK
            0, 0,           // flags
            2, 0, 0, 0,     // seq
            0x92, 0x10, 0, 0, // pid
            // ifinfomsg
            0, 0,           // family, pad
            1, 0,           // ifi_type ARPHRD_ETHER
            4, 0, 0, 0,     // ifi_index 4
            0x43, 0x10, 0, 0, // ifi_flags UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
            0, 0, 0, 0,     // ifi_change
            // IFLA_IFNAME "br0"
            8, 0, 3, 0,  b'b', b'r', b'0', 0,
            // IFLA_LINKINFO (18) { IFLA_INFO_KIND (1) "bridge\0" }
            16, 0, 18, 0,
            11, 0, 1, 0,  b'b', b'r', b'i', b'd', b'g', b'e', 0,  0,
        ];
        let want = LinkInfo {
            index: 4,
            flags: 0x1043,
            is_bridge: true,
        };
        assert_eq!(parse_link_reply(reply), Ok(want));
    }

    #[test]
    fn link_reply_errors() {
        let ack = error_reply(1, 0, &request(1), true, &[]);
        assert_eq!(parse_link_reply(&ack), Err(ParseError::UnexpectedType));
        let short = nlmsg(RTM_NEWLINK as u16, 0, 1, &[0; 12]);
        assert_eq!(parse_link_reply(&short), Err(ParseError::ShortMessage));
        assert_eq!(parse_link_reply(&[]), Err(ParseError::Truncated));
        let good = link_reply(1, 0, Some(b"bridge\0"));
        assert_eq!(
            parse_link_reply(&good[..good.len() - 4]),
            Err(ParseError::Truncated)
        );
        // An attribute running past the message, and one shorter than its header.
        for bad_len in [200u16, 3, 0] {
            let mut bad = good.clone();
            bad[32..34].copy_from_slice(&bad_len.to_ne_bytes());
            assert_eq!(
                parse_link_reply(&bad),
                Err(ParseError::BadAttribute),
                "{bad_len}"
            );
        }
        // The same inside IFLA_LINKINFO: find it, then break its first inner attribute.
        // IFLA_LINKINFO (32 bytes) comes before IFLA_MASTER (8), at the end.
        let at = good.len() - 8 - 32 + 4;
        assert_eq!(
            &good[at - 4..at],
            &[&32u16.to_ne_bytes()[..], &0x8012u16.to_ne_bytes()].concat()
        );
        let mut bad = good.clone();
        bad[at..at + 2].copy_from_slice(&100u16.to_ne_bytes());
        assert_eq!(parse_link_reply(&bad), Err(ParseError::BadAttribute));
    }

    #[test]
    fn attrs_iterator() {
        let mut bytes = tlv(1, b"abc");
        bytes.extend(tlv(0xc002, &[9; 4]));
        bytes.extend(tlv(3, &[]));
        let got: Vec<_> = Attrs::new(&bytes).collect();
        assert_eq!(
            got,
            vec![
                Ok((1, &b"abc"[..])),
                Ok((2, &[9u8; 4][..])),
                Ok((3, &[][..]))
            ]
        );
        // The last attribute may lack its padding.
        let one = tlv(5, b"x");
        let got: Vec<_> = Attrs::new(&one[..5]).collect();
        assert_eq!(got, vec![Ok((5, &b"x"[..]))]);
        // Garbage ends the walk with one error.
        let got: Vec<_> = Attrs::new(&[1, 0, 0]).collect();
        assert_eq!(got, vec![Err(ParseError::BadAttribute)]);
        let mut bytes = tlv(1, b"abcd");
        bytes.extend_from_slice(&[8, 0]);
        let got: Vec<_> = Attrs::new(&bytes).collect();
        assert_eq!(
            got,
            vec![Ok((1, &b"abcd"[..])), Err(ParseError::BadAttribute)]
        );
    }
}
