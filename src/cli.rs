//! The command line: options in, a validated [`Plan`] out. No system calls happen here.
//!
//! `tinyjail --root DIR [OPTIONS] -- COMMAND [ARG...]`. Options take their value as the next
//! argument or after `=` (`--id=web1`). COMMAND starts after `--` or at the first argument
//! that is not an option.

use core::ffi::CStr;

use crate::args::Argv;
use crate::error::{Error, Result};
use crate::plan::{self, Plan};

/// Every option tinyjail knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    Root,
    Id,
    Env,
    Workdir,
    Hostname,
    Uid,
    Gid,
    Cgroup,
    CgroupParent,
    Stats,
    Init,
    UseHostNetwork,
    NetworkBridge,
    IpAddress,
    PeerIpAddress,
    DefaultRoute,
    Help,
    Version,
}

/// (long name, short name, takes a value, option).
const OPTIONS: &[(&str, &str, bool, Opt)] = &[
    ("--root", "", true, Opt::Root),
    ("--id", "", true, Opt::Id),
    ("--env", "", true, Opt::Env),
    ("--workdir", "", true, Opt::Workdir),
    ("--hostname", "", true, Opt::Hostname),
    ("--uid", "", true, Opt::Uid),
    ("--gid", "", true, Opt::Gid),
    ("--cgroup", "", true, Opt::Cgroup),
    ("--cgroup-parent", "", true, Opt::CgroupParent),
    ("--stats", "", false, Opt::Stats),
    ("--init", "", false, Opt::Init),
    ("--use-host-network", "", false, Opt::UseHostNetwork),
    ("--network-bridge", "", true, Opt::NetworkBridge),
    ("--ip-address", "", true, Opt::IpAddress),
    ("--peer-ip-address", "", true, Opt::PeerIpAddress),
    ("--default-route", "", true, Opt::DefaultRoute),
    ("--help", "-h", false, Opt::Help),
    ("--version", "-V", false, Opt::Version),
];

pub const USAGE: &str = "\
Usage: tinyjail --root DIR [OPTIONS] -- COMMAND [ARG...]

Run COMMAND inside DIR in new mount, PID, UTS, IPC, user, network, cgroup
and time namespaces. The owner of DIR (or --uid/--gid) is root inside.

Options:
  --root DIR             root filesystem of the container (required)
  --id ID                container ID, 1-12 of [A-Za-z0-9_-] (default: random)
  --hostname NAME        hostname inside (default: tinyjail)
  --workdir DIR          absolute working directory inside (default: /)
  --env KEY=VALUE        set a variable; --env KEY copies it from tinyjail's
                         environment (repeatable). Only PATH is set otherwise.
  --uid N, --gid N       host IDs that root inside maps to (default: owner of DIR)
  --cgroup FILE=VALUE    write VALUE to FILE of the container's cgroup, e.g.
                         memory.max=64M, pids.max=32, cpu.max=\"50000 100000\"
  --cgroup-parent PATH   make the container's cgroup below PATH (default /tinyjail)
  --stats                print peak memory, CPU time, OOM kills and peak PIDs
  --init                 run a minimal init as PID 1 that starts COMMAND, forwards
                         signals to it and reaps orphans
  --use-host-network     share the host's network namespace
  --network-bridge DEV   connect a veth pair to bridge DEV
  --ip-address CIDR      address of the container's eth0
  --peer-ip-address CIDR address of the host end of the veth pair
  --default-route ADDR   default gateway inside the container
  -h, --help             print this help and exit
  -V, --version          print the version and exit

Exit status: COMMAND's status, 128+N if it was killed by signal N,
125 if tinyjail failed, 126 if COMMAND cannot be executed, 127 if not found.
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Request {
    Run(Plan),
    Help,
    Version,
}

/// One option with its value, as found on the command line.
#[derive(Clone, Copy, Debug)]
pub struct Token {
    pub opt: Opt,
    /// The option as written (`--id` or `--id=x`), for messages.
    pub name: &'static [u8],
    pub value: &'static [u8],
    pub value_c: &'static CStr,
}

/// Walks the options before COMMAND. Used by [`parse`] and again, once the plan is known
/// valid, by the environment builder (which needs every `--env` in order).
pub struct Tokens {
    next: usize,
    /// Index of COMMAND's first word once the walk has ended.
    pub command: usize,
}

impl Default for Tokens {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokens {
    pub const fn new() -> Self {
        Tokens {
            next: 1,
            command: 0,
        }
    }

    /// The next option, `Ok(None)` at the end of the options.
    pub fn next_token<A: Argv>(&mut self, argv: &A) -> Result<Option<Token>> {
        if self.next >= argv.count() {
            self.command = argv.count();
            return Ok(None);
        }
        let arg = argv.arg(self.next);
        let bytes = arg.to_bytes();
        if bytes == b"--" {
            self.command = self.next + 1;
            self.next = argv.count();
            return Ok(None);
        }
        if bytes.len() < 2 || bytes[0] != b'-' {
            self.command = self.next;
            self.next = argv.count();
            return Ok(None);
        }
        self.next += 1;
        let (name, inline) = match bytes.iter().position(|&b| b == b'=') {
            Some(eq) if bytes.starts_with(b"--") => (&bytes[..eq], Some(eq + 1)),
            _ => (bytes, None),
        };
        let Some(&(_, _, takes_value, opt)) = OPTIONS.iter().find(|(long, short, _, _)| {
            name == long.as_bytes() || (!short.is_empty() && name == short.as_bytes())
        }) else {
            return Err(Error::input("unknown option", bytes, "see tinyjail --help"));
        };
        if !takes_value {
            if inline.is_some() {
                return Err(Error::input("option", bytes, "takes no value"));
            }
            return Ok(Some(Token {
                opt,
                name: bytes,
                value: b"",
                value_c: c"",
            }));
        }
        let value_c = match inline {
            Some(at) => {
                // The value after '=' is the tail of the same NUL-terminated string.
                let tail = &arg.to_bytes_with_nul()[at..];
                CStr::from_bytes_with_nul(tail).unwrap_or(c"")
            }
            None => {
                // `--hostname -- sh` is far more likely a forgotten value than a hostname.
                if self.next >= argv.count() || argv.arg(self.next).to_bytes() == b"--" {
                    return Err(Error::input("option", bytes, "needs a value"));
                }
                let v = argv.arg(self.next);
                self.next += 1;
                v
            }
        };
        Ok(Some(Token {
            opt,
            name,
            value: value_c.to_bytes(),
            value_c,
        }))
    }
}

/// Parses and validates the whole command line. Touches nothing outside its arguments.
pub fn parse<A: Argv>(argv: &A) -> Result<Request> {
    let mut p = Plan::default();
    let mut root = None;
    let mut tokens = Tokens::new();
    let mut seen = 0u32;
    while let Some(t) = tokens.next_token(argv)? {
        // An option that takes one value may be given once: a second would silently win
        // over a first that was never checked.
        let once = !matches!(t.opt, Opt::Env | Opt::Cgroup | Opt::Help | Opt::Version);
        if once {
            let bit = 1 << (t.opt as u32);
            if seen & bit != 0 {
                return Err(Error::input("option", t.name, "may be given only once"));
            }
            seen |= bit;
        }
        match t.opt {
            Opt::Help => return Ok(Request::Help),
            Opt::Version => return Ok(Request::Version),
            Opt::Root => {
                if t.value.is_empty() {
                    return Err(Error::input("--root", b"", "needs a directory"));
                }
                root = Some(t.value_c);
            }
            Opt::Id => p.id = Some(plan::check_id(t.value)?),
            Opt::Env => {
                plan::check_env(t.value)?;
                p.env_count += 1;
            }
            Opt::Workdir => p.workdir = plan::check_workdir(t.value_c)?,
            Opt::Hostname => p.hostname = plan::check_hostname(t.value)?,
            Opt::Uid => p.uid = Some(plan::check_host_id("--uid", t.value)?),
            Opt::Gid => p.gid = Some(plan::check_host_id("--gid", t.value)?),
            Opt::Cgroup => {
                plan::check_cgroup_option(t.value)?;
                p.cgroup_count += 1;
            }
            Opt::CgroupParent => p.cgroup_parent = Some(plan::check_cgroup_parent(t.value)?),
            Opt::Stats => p.stats = true,
            Opt::Init => p.init = true,
            Opt::UseHostNetwork => p.network.host = true,
            Opt::NetworkBridge => {
                p.network.bridge = Some(plan::check_ifname("--network-bridge", t.value)?);
            }
            Opt::IpAddress => p.network.address = Some(plan::check_cidr("--ip-address", t.value)?),
            Opt::PeerIpAddress => {
                p.network.peer_address = Some(plan::check_cidr("--peer-ip-address", t.value)?);
            }
            Opt::DefaultRoute => p.network.default_route = Some(plan::check_gateway(t.value)?),
        }
    }
    p.root = root.ok_or(Error::input(
        "--root",
        b"",
        "is required (see tinyjail --help)",
    ))?;
    if tokens.command >= argv.count() {
        return Err(Error::input(
            "COMMAND",
            b"",
            "is missing (tinyjail --root DIR -- COMMAND)",
        ));
    }
    if argv.arg(tokens.command).is_empty() {
        return Err(Error::input("COMMAND", b"", "is empty"));
    }
    p.command = tokens.command;
    plan::check_network(&p.network)?;
    Ok(Request::Run(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::TestArgv;

    fn run(args: &[&'static CStr]) -> Result<Request> {
        let mut v = vec![c"tinyjail"];
        v.extend_from_slice(args);
        parse(&TestArgv(v))
    }

    fn plan(args: &[&'static CStr]) -> Plan {
        match run(args) {
            Ok(Request::Run(p)) => p,
            other => panic!("not a plan: {other:?}"),
        }
    }

    fn refused(args: &[&'static CStr]) -> Error {
        match run(args) {
            Err(e) => e,
            Ok(other) => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn minimal_command_line() {
        let p = plan(&[c"--root", c"/srv/r", c"--", c"/bin/sh", c"-c", c"true"]);
        assert_eq!(p.root, c"/srv/r");
        assert_eq!(p.command, 4);
        assert_eq!(p.hostname, b"tinyjail");
        assert_eq!(p.workdir, c"/");
        assert_eq!(p.id, None);
    }

    #[test]
    fn command_without_double_dash() {
        let p = plan(&[c"--root", c"/r", c"sh", c"--root"]);
        assert_eq!(p.command, 3);
    }

    #[test]
    fn values_after_equals() {
        let p = plan(&[
            c"--root=/r",
            c"--id=web-1",
            c"--hostname=box",
            c"--workdir=/tmp",
            c"ls",
        ]);
        assert_eq!(p.root, c"/r");
        assert_eq!(p.id.unwrap().as_bytes(), b"web-1");
        assert_eq!(p.hostname, b"box");
        assert_eq!(p.workdir, c"/tmp");
    }

    #[test]
    fn ids() {
        assert_eq!(
            plan(&[c"--root", c"/r", c"--uid", c"1000", c"--gid", c"0", c"x"]).uid,
            Some(1000)
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--uid", c"-1", c"x"]).doing,
            "--uid"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--uid", c"4294967295", c"x"]).doing,
            "--uid"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--gid", c"", c"x"]).doing,
            "--gid"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--gid", c"12a", c"x"]).doing,
            "--gid"
        );
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(run(&[c"-h"]), Ok(Request::Help)));
        assert!(matches!(run(&[c"--help"]), Ok(Request::Help)));
        assert!(matches!(run(&[c"-V"]), Ok(Request::Version)));
        assert!(matches!(
            run(&[c"--root", c"/r", c"--version"]),
            Ok(Request::Version)
        ));
    }

    #[test]
    fn bad_command_lines() {
        assert_eq!(
            refused(&[c"--", c"sh"]).detail,
            "is required (see tinyjail --help)"
        );
        assert_eq!(refused(&[c"--root", c"/r"]).doing, "COMMAND");
        assert_eq!(refused(&[c"--root", c"/r", c"--"]).doing, "COMMAND");
        assert_eq!(refused(&[c"--root"]).detail, "needs a value");
        for option in [
            c"--env",
            c"--hostname",
            c"--cgroup-parent",
            c"--network-bridge",
        ] {
            let e = refused(&[c"--root", c"/r", option, c"--", c"sh"]);
            assert_eq!(e.detail, "needs a value", "{option:?}");
        }
        assert_eq!(
            refused(&[c"--root", c"/r", c"--bogus", c"sh"]).doing,
            "unknown option"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"-x", c"sh"]).doing,
            "unknown option"
        );
        assert_eq!(refused(&[c"--root", c"", c"sh"]).doing, "--root");
        assert_eq!(
            refused(&[c"--root", c"/r", c"--help=x", c"sh"]).detail,
            "takes no value"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--env", c"=x", c"sh"]).doing,
            "--env"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--env", c"", c"sh"]).doing,
            "--env"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--workdir", c"tmp", c"sh"]).doing,
            "--workdir"
        );
        assert_eq!(
            refused(&[c"--root", c"/r", c"--hostname", c"", c"sh"]).doing,
            "--hostname"
        );
    }

    #[test]
    fn id_rules() {
        for good in [c"a", c"abcdefghijkl", c"A-Z_0-9", c"-x"] {
            assert!(
                run(&[c"--root", c"/r", c"--id", good, c"sh"]).is_ok(),
                "{good:?}"
            );
        }
        for bad in [
            c"",
            c"abcdefghijklm",
            c".",
            c"..",
            c"a.b",
            c"a/b",
            c"a b",
            c"a%b",
            c"\xc3\xa9",
        ] {
            assert_eq!(
                refused(&[c"--root", c"/r", c"--id", bad, c"sh"]).doing,
                "--id",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn env_counts() {
        let p = plan(&[
            c"--root", c"/r", c"--env", c"A=1", c"--env=B", c"--env", c"C=", c"sh",
        ]);
        assert_eq!(p.env_count, 3);
    }

    #[test]
    fn network_options() {
        let p = plan(&[
            c"--root",
            c"/r",
            c"--network-bridge",
            c"br0",
            c"--ip-address",
            c"10.0.100.2/24",
            c"--default-route",
            c"10.0.100.1",
            c"sh",
        ]);
        assert_eq!(p.network.bridge, Some(&b"br0"[..]));
        assert_eq!(p.network.address.unwrap().prefix, 24);
        for (option, bad) in [
            (c"--ip-address", c"10.0.0.300/24"),
            (c"--ip-address", c"10.0.0.1/33"),
            (c"--ip-address", c"fd00::/129"),
            (c"--ip-address", c"10.0.0.1"),
            (c"--ip-address", c""),
            (c"--peer-ip-address", c"10.0.0.1/"),
            (c"--default-route", c"10.0.0.1/24"),
            (c"--network-bridge", c"a-bridge-name-too-long"),
            (c"--network-bridge", c"br/0"),
        ] {
            let e = refused(&[c"--root", c"/r", option, bad, c"sh"]);
            assert_eq!(e.doing.as_bytes(), option.to_bytes(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_a_host_cannot_have() {
        for (option, bad, why) in [
            (
                c"--ip-address",
                c"0.0.0.0/24",
                "is not a host address (0.0.0.0/8)",
            ),
            (
                c"--peer-ip-address",
                c"0.0.0.0/0",
                "is not a host address (0.0.0.0/8)",
            ),
            (
                c"--ip-address",
                c"127.0.0.2/8",
                "is a loopback address (127.0.0.0/8)",
            ),
            (
                c"--ip-address",
                c"224.0.0.1/4",
                "is a multicast address (224.0.0.0/4)",
            ),
            (
                c"--ip-address",
                c"255.255.255.255/32",
                "is the broadcast address",
            ),
            (c"--ip-address", c"::/64", "is the unspecified address (::)"),
            (c"--ip-address", c"::1/128", "is the loopback address (::1)"),
            (
                c"--ip-address",
                c"ff02::1/64",
                "is a multicast address (ff00::/8)",
            ),
            (c"--default-route", c"::", "is the unspecified address (::)"),
            (
                c"--default-route",
                c"0.0.0.0",
                "is not a host address (0.0.0.0/8)",
            ),
        ] {
            let e = refused(&[c"--root", c"/r", option, bad, c"sh"]);
            assert_eq!(e.doing.as_bytes(), option.to_bytes(), "{bad:?}");
            assert_eq!(e.detail, why, "{bad:?}");
        }
        // Near misses that are host addresses.
        for good in [
            c"1.0.0.1/8",
            c"126.255.255.254/8",
            c"223.255.255.1/24",
            c"::2/64",
        ] {
            plan(&[c"--root", c"/r", c"--peer-ip-address", good, c"sh"]);
        }
    }

    #[test]
    fn peer_and_container_addresses_of_one_family() {
        let e = refused(&[
            c"--root",
            c"/r",
            c"--peer-ip-address",
            c"10.9.1.1/30",
            c"--ip-address",
            c"fd00::2/64",
            c"sh",
        ]);
        assert_eq!(e.doing, "--ip-address");
        assert_eq!(
            e.detail,
            "must be of the same family (IPv4 or IPv6) as --peer-ip-address"
        );
    }

    #[test]
    fn single_value_options_only_once() {
        for option in [
            c"--root",
            c"--id",
            c"--hostname",
            c"--workdir",
            c"--uid",
            c"--cgroup-parent",
        ] {
            let value = if option == c"--workdir" || option == c"--cgroup-parent" {
                c"/x"
            } else {
                c"7"
            };
            let e = refused(&[c"--root", c"/r", option, value, option, value, c"sh"]);
            assert_eq!(e.detail, "may be given only once", "{option:?}");
        }
        assert!(run(&[c"--root", c"/r", c"--env", c"A=1", c"--env", c"A=2", c"sh"]).is_ok());
        assert_eq!(refused(&[c"--root", c"/r", c"--", c""]).detail, "is empty");
    }

    #[test]
    fn cgroup_parents() {
        let p = plan(&[
            c"--root",
            c"/r",
            c"--cgroup-parent",
            c"/jobs/web",
            c"--stats",
            c"sh",
        ]);
        assert_eq!(p.cgroup_parent, Some(&b"/jobs/web"[..]));
        assert!(p.stats);
        for bad in [
            c"..",
            c"/a/../b",
            c"a/./b",
            c"a b",
            c"a\nb",
            c"",
            c"/tinyjail/x",
            c"tinyjail",
            c"/x/cgroup.procs",
        ] {
            let e = refused(&[c"--root", c"/r", c"--cgroup-parent", bad, c"sh"]);
            assert_eq!(e.doing, "--cgroup-parent", "{bad:?}");
        }
    }

    #[test]
    fn cgroup_option_rules() {
        for bad in [
            c"pids.max",
            c"=5",
            c"cgroup.procs=1",
            c"../x=1",
            c"a/b=1",
            c"memory.max=1\n2",
            c"memory.max=",
        ] {
            let e = refused(&[c"--root", c"/r", c"--cgroup", bad, c"sh"]);
            assert_eq!(e.doing, "--cgroup", "{bad:?}");
            assert!(!e.detail.contains("not supported"), "{bad:?}");
        }
    }
}
