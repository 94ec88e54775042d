//! The validated plan of a run and the validators that build it. Pure: no system calls.

use core::ffi::CStr;

use crate::error::{Error, Result};
use crate::net::addr::{parse_addr, parse_cidr};
use crate::net::netlink::{IpAddr, IpCidr};

/// Longest container ID: it must fit in interface and cgroup names with a prefix.
pub const ID_MAX: usize = 12;
/// `HOST_NAME_MAX` of Linux.
pub const HOSTNAME_MAX: usize = 64;
/// The PATH inside the container when no `--env PATH=...` is given.
pub const DEFAULT_PATH: &CStr =
    c"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A container ID: 1 to 12 of `[A-Za-z0-9_-]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Id {
    bytes: [u8; ID_MAX],
    len: u8,
}

impl Id {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// An ID made of random bytes: twice as many lowercase hex digits.
    pub fn from_random(random: [u8; ID_MAX / 2]) -> Id {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bytes = [0u8; ID_MAX];
        for (i, b) in random.iter().enumerate() {
            bytes[2 * i] = HEX[(b >> 4) as usize];
            bytes[2 * i + 1] = HEX[(b & 15) as usize];
        }
        Id {
            bytes,
            len: ID_MAX as u8,
        }
    }
}

/// Longest interface name (`IFNAMSIZ` less the NUL).
pub const IFNAME_MAX: usize = 15;

/// The network options, each parsed; checked together by [`check_network`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Network {
    pub host: bool,
    pub bridge: Option<&'static [u8]>,
    pub address: Option<IpCidr>,
    pub peer_address: Option<IpCidr>,
    pub default_route: Option<IpAddr>,
}

/// Kernel features tinyjail can do without, turned off on purpose so that tests exercise on
/// a new kernel the paths an old one takes. Set from the environment variable
/// `TINYJAIL_TEST_FALLBACKS`, a comma-separated list of: `clone3` (as if clone3 were
/// missing: legacy clone), `clone3-time` (as if clone3 refused CLONE_NEWTIME), `into-cgroup`
/// (as if it refused CLONE_INTO_CGROUP), `cgroup-kill` (as if there were no cgroup.kill),
/// `openat2` (as if openat2 were missing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fallbacks {
    pub no_clone3: bool,
    pub no_clone3_time: bool,
    pub no_into_cgroup: bool,
    pub no_cgroup_kill: bool,
    pub no_openat2: bool,
}

impl Fallbacks {
    pub const VARIABLE: &'static [u8] = b"TINYJAIL_TEST_FALLBACKS";

    /// Reads the list; unknown words are ignored.
    pub fn parse(list: &[u8]) -> Fallbacks {
        let mut f = Fallbacks::default();
        for word in list.split(|&b| b == b',') {
            match word {
                b"clone3" => f.no_clone3 = true,
                b"clone3-time" => f.no_clone3_time = true,
                b"into-cgroup" => f.no_into_cgroup = true,
                b"cgroup-kill" => f.no_cgroup_kill = true,
                b"openat2" => f.no_openat2 = true,
                _ => {}
            }
        }
        f
    }
}

/// Everything a run needs to know, validated.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub root: &'static CStr,
    pub id: Option<Id>,
    pub hostname: &'static [u8],
    pub workdir: &'static CStr,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// How many `--env` options there are (their values are read again when the
    /// environment is built).
    pub env_count: usize,
    pub cgroup_count: usize,
    /// `--cgroup-parent`: where the container's cgroup is made, below the hierarchy's root.
    pub cgroup_parent: Option<&'static [u8]>,
    /// `--stats`: print the cgroup's final figures.
    pub stats: bool,
    /// `--init`: tinyjail's init is PID 1 and COMMAND its child.
    pub init: bool,
    pub network: Network,
    /// Index of COMMAND in argv; its arguments follow up to the end.
    pub command: usize,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            root: c"",
            id: None,
            hostname: b"tinyjail",
            workdir: c"/",
            uid: None,
            gid: None,
            env_count: 0,
            cgroup_count: 0,
            cgroup_parent: None,
            stats: false,
            init: false,
            network: Network::default(),
            command: 0,
        }
    }
}

/// `--id`: 1 to 12 of `[A-Za-z0-9_-]`. Such a name can never be `.` or `..` and never holds
/// `/`, `%`, `:` or white space, so it is safe in paths and interface names.
pub fn check_id(value: &'static [u8]) -> Result<Id> {
    let ok = !value.is_empty()
        && value.len() <= ID_MAX
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(Error::input(
            "--id",
            value,
            "must be 1 to 12 characters of A-Z a-z 0-9 _ -",
        ));
    }
    let mut bytes = [0u8; ID_MAX];
    bytes[..value.len()].copy_from_slice(value);
    Ok(Id {
        bytes,
        len: value.len() as u8,
    })
}

/// `--env KEY=VALUE` or `--env KEY`: the key must be non-empty.
pub fn check_env(value: &'static [u8]) -> Result<()> {
    let key = env_key(value);
    if key.is_empty() {
        return Err(Error::input(
            "--env",
            value,
            "needs a KEY (KEY=VALUE or KEY)",
        ));
    }
    // A newline in a key would let one entry pass for two in anything that lists them.
    if key.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err(Error::input(
            "--env",
            value,
            "KEY must not contain control characters",
        ));
    }
    Ok(())
}

/// The key of `KEY=VALUE` (all of it without `=`).
pub fn env_key(entry: &[u8]) -> &[u8] {
    match entry.iter().position(|&b| b == b'=') {
        Some(eq) => &entry[..eq],
        None => entry,
    }
}

/// `--workdir`: an absolute path inside the container.
pub fn check_workdir(value: &'static CStr) -> Result<&'static CStr> {
    if value.to_bytes().first() != Some(&b'/') {
        return Err(Error::input(
            "--workdir",
            value.to_bytes(),
            "must be an absolute path",
        ));
    }
    Ok(value)
}

/// `--hostname`: 1 to 64 bytes, no control characters.
pub fn check_hostname(value: &'static [u8]) -> Result<&'static [u8]> {
    if value.is_empty() || value.len() > HOSTNAME_MAX {
        return Err(Error::input("--hostname", value, "must be 1 to 64 bytes"));
    }
    if value.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err(Error::input(
            "--hostname",
            value,
            "must not contain control characters",
        ));
    }
    Ok(value)
}

/// `--uid`/`--gid`: a decimal ID below 4294967295 (which means "no ID" to the kernel).
pub fn check_host_id(option: &'static str, value: &'static [u8]) -> Result<u32> {
    let bad = Error::input(option, value, "must be a number from 0 to 4294967294");
    if value.is_empty() || value.len() > 10 || !value.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    let n = value
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    if n >= u64::from(u32::MAX) {
        return Err(bad);
    }
    Ok(n as u32)
}

/// `--cgroup FILE=VALUE`: FILE is `controller.name`, never a `cgroup.*` core file, no `/`;
/// VALUE holds no newline.
pub fn check_cgroup_option(value: &'static [u8]) -> Result<()> {
    let Some(eq) = value.iter().position(|&b| b == b'=') else {
        return Err(Error::input("--cgroup", value, "must be FILE=VALUE"));
    };
    let (file, setting) = (&value[..eq], &value[eq + 1..]);
    let dot = file.iter().position(|&b| b == b'.');
    if file.is_empty() || dot.is_none_or(|d| d == 0 || d + 1 == file.len()) {
        return Err(Error::input(
            "--cgroup",
            value,
            "FILE must be controller.name, e.g. pids.max",
        ));
    }
    if file.starts_with(b"cgroup.") {
        return Err(Error::input(
            "--cgroup",
            value,
            "the cgroup.* files are tinyjail's own",
        ));
    }
    let name_ok = file
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if !name_ok {
        return Err(Error::input(
            "--cgroup",
            value,
            "FILE may hold only A-Z a-z 0-9 . _",
        ));
    }
    if setting.is_empty() {
        // Most often a shell variable that is not set: `--cgroup memory.max=$LIMIT`.
        return Err(Error::input("--cgroup", value, "VALUE is empty"));
    }
    if setting.contains(&b'\n') {
        return Err(Error::input(
            "--cgroup",
            value,
            "VALUE must not contain a newline",
        ));
    }
    Ok(())
}

/// `--cgroup-parent PATH`: components of `[A-Za-z0-9_.-]`, never `.` or `..`, so that the
/// path stays inside the hierarchy.
pub fn check_cgroup_parent(value: &'static [u8]) -> Result<&'static [u8]> {
    let bad = |detail| Err(Error::input("--cgroup-parent", value, detail));
    if value.is_empty() {
        return bad("needs a path (/ for the top of the hierarchy)");
    }
    if value.len() > 200 {
        return bad("is longer than 200 bytes");
    }
    let first = value.split(|&b| b == b'/').find(|c| !c.is_empty());
    if first == Some(b"tinyjail") {
        // tinyjail removes what it finds unlocked there as left over by a killed run.
        return bad("may not lie in /tinyjail, which holds only tinyjail's own cgroups");
    }
    for component in value.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        if component == b"." || component == b".." {
            return bad("must stay inside the cgroup hierarchy (no . or ..)");
        }
        // Those are the kernel's interface files of the cgroup above, never cgroups.
        if component.starts_with(b"cgroup.") {
            return bad("may not name a cgroup.* file");
        }
        if !component
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return bad("may hold only A-Z a-z 0-9 _ . - and /");
        }
    }
    Ok(value)
}

/// `--ip-address` and `--peer-ip-address`: an address with its prefix.
pub fn check_cidr(option: &'static str, value: &'static [u8]) -> Result<IpCidr> {
    let cidr = parse_cidr(value).ok_or(Error::input(
        option,
        value,
        "must be ADDRESS/PREFIX, e.g. 10.0.100.2/24 or fd00::2/64",
    ))?;
    check_host_address(option, value, &cidr.addr)?;
    Ok(cidr)
}

/// `--default-route`: an address.
pub fn check_gateway(value: &'static [u8]) -> Result<IpAddr> {
    let addr = parse_addr(value).ok_or(Error::input(
        "--default-route",
        value,
        "must be an IPv4 or IPv6 address, e.g. 10.0.100.1",
    ))?;
    check_host_address("--default-route", value, &addr)?;
    Ok(addr)
}

/// An address one host can have on a veth: not unspecified, loopback, multicast or the
/// broadcast address. The kernel would take some of these without a word and do nothing
/// useful with them, and refuse others only once the container is half made.
fn check_host_address(option: &'static str, value: &'static [u8], addr: &IpAddr) -> Result<()> {
    let refusal = match addr {
        IpAddr::V4([0, ..]) => Some("is not a host address (0.0.0.0/8)"),
        IpAddr::V4([127, ..]) => Some("is a loopback address (127.0.0.0/8)"),
        IpAddr::V4([224..=239, ..]) => Some("is a multicast address (224.0.0.0/4)"),
        IpAddr::V4([255, 255, 255, 255]) => Some("is the broadcast address"),
        IpAddr::V6(a) if *a == [0; 16] => Some("is the unspecified address (::)"),
        IpAddr::V6(a) if a[..15] == [0; 15] && a[15] == 1 => Some("is the loopback address (::1)"),
        IpAddr::V6([0xff, ..]) => Some("is a multicast address (ff00::/8)"),
        _ => None,
    };
    match refusal {
        Some(detail) => Err(Error::input(option, value, detail)),
        None => Ok(()),
    }
}

/// `--network-bridge`: a name the kernel accepts for an interface (1 to 15 bytes, not `.`
/// or `..`, no `/`, `:` or white space).
pub fn check_ifname(option: &'static str, value: &'static [u8]) -> Result<&'static [u8]> {
    let ok = !value.is_empty()
        && value.len() <= IFNAME_MAX
        && value != b"."
        && value != b".."
        && value
            .iter()
            .all(|&b| b > b' ' && b < 0x7f && b != b'/' && b != b':');
    if !ok {
        return Err(Error::input(
            option,
            value,
            "must be an interface name: 1 to 15 bytes, no /, : or white space",
        ));
    }
    Ok(value)
}

impl Network {
    /// True when the container gets a veth pair.
    pub fn wants_veth(&self) -> bool {
        self.bridge.is_some() || self.peer_address.is_some()
    }
}

/// The network options together.
pub fn check_network(net: &Network) -> Result<()> {
    let any_other = net.bridge.is_some()
        || net.address.is_some()
        || net.peer_address.is_some()
        || net.default_route.is_some();
    if net.host && any_other {
        return Err(Error::input(
            "--use-host-network",
            b"",
            "cannot be combined with other network options",
        ));
    }
    if net.bridge.is_some() && net.peer_address.is_some() {
        return Err(Error::input(
            "--network-bridge",
            b"",
            "and --peer-ip-address cannot be combined (a bridge or a peer address)",
        ));
    }
    if let (Some(address), Some(peer)) = (net.address, net.peer_address) {
        if address.family() != peer.family() {
            return Err(Error::input(
                "--ip-address",
                b"",
                "must be of the same family (IPv4 or IPv6) as --peer-ip-address",
            ));
        }
    }
    let has_link = net.bridge.is_some() || net.peer_address.is_some();
    if net.address.is_some() && !has_link {
        return Err(Error::input(
            "--ip-address",
            b"",
            "needs --network-bridge or --peer-ip-address",
        ));
    }
    if let Some(gateway) = net.default_route {
        if !has_link {
            return Err(Error::input(
                "--default-route",
                b"",
                "needs --network-bridge or --peer-ip-address",
            ));
        }
        match net.address {
            None => {
                return Err(Error::input("--default-route", b"", "needs --ip-address"));
            }
            Some(address) if address.family() != gateway.family() => {
                return Err(Error::input(
                    "--default-route",
                    b"",
                    "must be of the same family (IPv4 or IPv6) as --ip-address",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_hex() {
        let id = Id::from_random([0x00, 0x1f, 0xa0, 0xff, 0x12, 0x9b]);
        assert_eq!(id.as_bytes(), b"001fa0ff129b");
        assert!(check_id(b"001fa0ff129b").is_ok());
    }

    #[test]
    fn host_ids() {
        assert_eq!(check_host_id("--uid", b"0"), Ok(0));
        assert_eq!(check_host_id("--uid", b"4294967294"), Ok(4294967294));
        assert!(check_host_id("--uid", b"4294967295").is_err());
        assert!(check_host_id("--uid", b"99999999999").is_err());
        assert!(check_host_id("--uid", b"+1").is_err());
    }

    #[test]
    fn env_keys() {
        assert_eq!(env_key(b"A=1"), b"A");
        assert_eq!(env_key(b"A"), b"A");
        assert_eq!(env_key(b"A=b=c"), b"A");
        assert!(check_env(b"=1").is_err());
        assert!(check_env(b"A=").is_ok());
    }

    #[test]
    fn cgroup_files() {
        assert!(check_cgroup_option(b"cpu.max=50000 100000").is_ok());
        assert!(check_cgroup_option(b"memory.max=64M").is_ok());
        assert!(check_cgroup_option(b"io.max=8:0 rbps=1").is_ok());
        for bad in [
            &b"memory.max"[..],
            b"=1",
            b".max=1",
            b"memory.=1",
            b"max=1",
            b"cgroup.kill=1",
        ] {
            assert!(check_cgroup_option(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn network_conflicts() {
        let n = Network {
            host: true,
            bridge: Some(b"br0"),
            ..Network::default()
        };
        assert!(check_network(&n).is_err());
        assert!(check_network(&Network {
            host: true,
            ..Network::default()
        })
        .is_ok());
        assert!(check_network(&Network::default()).is_ok());
    }
}
