//! Networking, each test inside a throwaway network namespace that plays the host: it holds
//! the bridge, tinyjail runs in it, and it is deleted at the end. The machine's own network
//! is never touched; `ip` only looks (and builds the test host's bridge).

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;

/// A network namespace made for one test, deleted when dropped. Its tinyjails run with IDs
/// of its leak check; dropping it checks that no veth (`tj<ID>`) is left in it, then the
/// rest of the leak check runs.
struct TestHost {
    name: String,
    leaks: LeakCheck,
}

impl TestHost {
    fn new() -> TestHost {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tjtest-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        sh(&format!(
            "ip netns add {name} && ip -n {name} link set lo up"
        ));
        TestHost {
            name,
            leaks: LeakCheck::start(),
        }
    }

    /// A bridge `br0` with the given addresses, up.
    fn with_bridge(addresses: &[&str]) -> TestHost {
        let host = TestHost::new();
        let n = &host.name;
        sh(&format!(
            "ip -n {n} link add br0 type bridge && ip -n {n} link set br0 up"
        ));
        for a in addresses {
            sh(&format!("ip -n {n} addr add {a} dev br0 nodad"));
        }
        host
    }

    /// `ip netns exec NS tinyjail --id ID --root ROOT ARGS...`, with a new ID of the leak
    /// check unless ARGS hold one of it.
    fn tinyjail(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, env!("CARGO_BIN_EXE_tinyjail")]);
        if !args.contains(&"--id") {
            c.args(["--id", &self.leaks.id()]);
        }
        c.args(["--root", shared_root().to_str().unwrap()]);
        c.args(args).stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        output(&mut self.tinyjail(args))
    }

    /// A command in the test host's namespace.
    fn exec(&self, command: &str) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", command])
            .output()
            .unwrap()
    }

    /// The test host's interfaces, by name.
    fn links(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-o", "link"])
            .output()
            .unwrap();
        stdout(&out)
            .lines()
            .map(|l| {
                l.split(':')
                    .nth(1)
                    .unwrap()
                    .trim()
                    .split('@')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    /// The host ends of veths (`tj<ID>`) in the test host: the kernel removes a veth a
    /// moment after the namespace of its other end died, so they may take [`GRACE`] to go.
    fn veths_left(&self) -> Vec<String> {
        let veths = || -> Vec<String> {
            let links = self.links();
            links.into_iter().filter(|l| l.starts_with("tj")).collect()
        };
        eventually(GRACE, || veths().is_empty());
        veths()
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let veths = if std::thread::panicking() {
            Vec::new()
        } else {
            self.veths_left()
        };
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        assert!(veths.is_empty(), "veths left in {}: {veths:?}", self.name);
    }
}

fn sh(command: &str) {
    let status = Command::new("sh").args(["-c", command]).status().unwrap();
    assert!(status.success(), "{command}");
}

/// Starts a long-running container and waits for it to print `ready`.
fn start(host: &TestHost, args: &[&str], script: &str) -> Child {
    let mut all = args.to_vec();
    let script = format!("echo ready; {script}");
    all.extend(["--", "/bin/sh", "-c", &script]);
    let mut child = host.tinyjail(&all).stdout(Stdio::piped()).spawn().unwrap();
    wait_ready(&mut child);
    child
}

/// Ends a container started with [`start`]: SIGTERM to tinyjail, which ends a first process
/// that does not handle it and removes the cgroup (SIGKILL would leave it for the next start
/// to sweep).
fn stop(child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    wait_bounded(child);
}

/// Retries a command a few times (a server may not be listening yet).
fn retry(mut attempt: impl FnMut() -> Output) -> Output {
    let mut last = attempt();
    for _ in 0..50 {
        if last.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        last = attempt();
    }
    last
}

#[test]
fn loopback_only_without_options() {
    require_root!();
    let host = TestHost::new();
    let out = host.run(&["--", "/bin/sh", "-c", "ip -o link | wc -l; ping -c1 -W2 127.0.0.1 >/dev/null && ping -c1 -W2 ::1 >/dev/null && echo ok"]);
    assert_eq!(ok(&out), "1\nok\n");
}

#[test]
fn two_containers_on_a_bridge_ping_each_other_v4_and_v6() {
    require_root!();
    let host = TestHost::with_bridge(&[]);
    for (a, b, target) in [
        ("10.0.100.2/24", "10.0.100.3/24", "10.0.100.2"),
        ("fd00::2/64", "fd00::3/64", "fd00::2"),
    ] {
        let first = start(
            &host,
            &["--network-bridge", "br0", "--ip-address", a],
            "sleep 30",
        );
        let out = host.run(&[
            "--network-bridge",
            "br0",
            "--ip-address",
            b,
            "--",
            "/bin/ping",
            "-c1",
            "-W3",
            target,
        ]);
        ok(&out);
        stop(first);
    }
}

#[test]
fn test_host_pings_a_container_through_the_bridge() {
    require_root!();
    let host = TestHost::with_bridge(&["10.0.101.1/24", "fd01::1/64"]);
    let id = host.leaks.id();
    let veth = format!("tj{id}");
    let c = start(
        &host,
        &[
            "--id",
            &id,
            "--network-bridge",
            "br0",
            "--ip-address",
            "10.0.101.2/24",
            "--default-route",
            "10.0.101.1",
        ],
        "ip route; sleep 30",
    );
    let out = host.exec("ping -c1 -W3 10.0.101.2");
    ok(&out);
    // The host end is named after the ID and sits on the bridge.
    let links = host.links();
    assert!(links.contains(&veth), "{links:?}");
    let master = host.exec(&format!("ip -o link show {veth}"));
    assert!(
        stdout(&master).contains("master br0"),
        "{}",
        stdout(&master)
    );
    stop(c);

    let c = start(
        &host,
        &[
            "--network-bridge",
            "br0",
            "--ip-address",
            "fd01::2/64",
            "--default-route",
            "fd01::1",
        ],
        "sleep 30",
    );
    ok(&host.exec("ping -c1 -W3 fd01::2"));
    stop(c);
}

#[test]
fn bridgeless_peer_address_and_default_route() {
    require_root!();
    let host = TestHost::new();
    let out = host.run(&[
        "--peer-ip-address",
        "10.0.102.1/24",
        "--ip-address",
        "10.0.102.2/24",
        "--default-route",
        "10.0.102.1",
        "--",
        "/bin/sh",
        "-c",
        "ping -c1 -W3 10.0.102.1 >/dev/null && echo reached; ip route",
    ]);
    let text = ok(&out);
    assert!(text.starts_with("reached\n"), "{text}");
    assert!(text.contains("default via 10.0.102.1 dev eth0"), "{text}");
}

#[test]
fn tcp_both_ways() {
    require_root!();
    let host = TestHost::with_bridge(&["10.0.103.1/24"]);
    let args = [
        "--network-bridge",
        "br0",
        "--ip-address",
        "10.0.103.2/24",
        "--default-route",
        "10.0.103.1",
    ];
    // A server inside answers a client in the test host.
    let server = start(&host, &args, "echo from-container | nc -l -p 7000");
    let out = retry(|| host.exec("busybox nc -w 2 10.0.103.2 7000 </dev/null"));
    assert_eq!(ok(&out), "from-container\n");
    stop(server);

    // A server in the test host answers a client inside.
    let mut server = Command::new("ip")
        .args([
            "netns",
            "exec",
            &host.name,
            "busybox",
            "sh",
            "-c",
            "echo from-host | busybox nc -l -p 7001",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let out = retry(|| {
        host.run(
            &[
                &args[..],
                &["--", "/bin/sh", "-c", "nc -w 2 10.0.103.1 7001 </dev/null"],
            ]
            .concat(),
        )
    });
    assert_eq!(ok(&out), "from-host\n");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn killed_tinyjail_leaves_no_veth() {
    require_root!();
    let host = TestHost::with_bridge(&[]);
    let c = start(
        &host,
        &["--network-bridge", "br0", "--ip-address", "10.0.104.2/24"],
        "sleep 30",
    );
    // `ip netns exec` runs tinyjail in place of itself.
    Command::new("kill")
        .args(["-KILL", &c.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(wait_bounded(c).status.code(), None);
    // The veth goes with the container's network namespace (dropping the test host checks
    // that); the empty cgroup stays for the next start to remove.
    host.leaks.sweep();
}

#[test]
fn bad_network_input_is_refused_and_creates_nothing() {
    require_root!();
    let host = TestHost::with_bridge(&[]);
    sh(&format!(
        "ip -n {} link add notbr0 type veth peer name notbr1",
        host.name
    ));
    let cases: &[(&[&str], &str)] = &[
        (
            &["--network-bridge", "br9"],
            "tinyjail: looking up bridge br9: No such device (ENODEV)",
        ),
        (
            &["--network-bridge", "notbr0"],
            "tinyjail: --network-bridge notbr0: is not a bridge",
        ),
        (
            &["--network-bridge", "a-very-long-name"],
            "--network-bridge a-very-long-name: must be an interface name",
        ),
        (&["--network-bridge", "br/0"], "must be an interface name"),
        (
            &["--network-bridge", "br0", "--ip-address", "10.0.0.300/24"],
            "--ip-address 10.0.0.300/24: must be ADDRESS/PREFIX",
        ),
        (
            &["--network-bridge", "br0", "--ip-address", "10.0.0.1/33"],
            "must be ADDRESS/PREFIX",
        ),
        (
            &["--network-bridge", "br0", "--ip-address", "fd00::/129"],
            "must be ADDRESS/PREFIX",
        ),
        (
            &["--network-bridge", "br0", "--ip-address", "10.0.0.1"],
            "must be ADDRESS/PREFIX",
        ),
        (
            &["--network-bridge", "br0", "--ip-address", ""],
            "must be ADDRESS/PREFIX",
        ),
        (
            &["--network-bridge", "br0", "--ip-address", "010.0.0.1/24"],
            "must be ADDRESS/PREFIX",
        ),
        (
            &[
                "--network-bridge",
                "br0",
                "--ip-address",
                "10.0.0.2/24",
                "--default-route",
                "fd00::1",
            ],
            "same family",
        ),
        (
            &["--network-bridge", "br0", "--default-route", "10.0.0.1"],
            "--default-route needs --ip-address",
        ),
        (
            &["--ip-address", "10.0.0.2/24"],
            "--ip-address needs --network-bridge or --peer-ip-address",
        ),
        (
            &[
                "--network-bridge",
                "br0",
                "--peer-ip-address",
                "10.0.0.1/24",
            ],
            "cannot be combined",
        ),
        (
            &["--use-host-network", "--ip-address", "10.0.0.2/24"],
            "--use-host-network cannot be combined",
        ),
    ];
    for (args, expected) in cases {
        let mut all = args.to_vec();
        all.extend(["--", "/bin/true"]);
        refused(&host.run(&all), expected);
        assert_eq!(
            host.links(),
            ["lo", "br0", "notbr1", "notbr0"],
            "{args:?} left something"
        );
    }
}

#[test]
fn host_network_is_shared() {
    require_root!();
    let host = TestHost::with_bridge(&["10.0.105.1/24"]);
    let out = host.run(&[
        "--use-host-network",
        "--",
        "/bin/sh",
        "-c",
        "ip -o addr show br0",
    ]);
    assert!(ok(&out).contains("10.0.105.1/24"));
}
