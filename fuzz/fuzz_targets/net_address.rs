//! The address parsers behind `--ip-address`, `--peer-ip-address` and `--default-route`
//! (`net::addr`): strict text forms only. Input: the option's value.
//!
//! Checked: no panic; on text that is valid UTF-8 the result agrees with the standard
//! library's parsers (which take the same strict forms: dotted decimal without leading
//! zeros, RFC 4291 IPv6 text without zone IDs); a prefix is at most 32 or 128 and written
//! without leading zeros.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use tinyjail::net::addr::{parse_addr, parse_cidr};
use tinyjail::net::netlink::IpAddr;

/// What the standard library makes of `text` (tinyjail picks the family by a ':').
fn std_parse(text: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(text).ok()?;
    if text.contains(':') {
        text.parse::<Ipv6Addr>()
            .ok()
            .map(|a| IpAddr::V6(a.octets()))
    } else {
        text.parse::<Ipv4Addr>()
            .ok()
            .map(|a| IpAddr::V4(a.octets()))
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_addr(data);
    if std::str::from_utf8(data).is_ok() {
        assert_eq!(
            parsed,
            std_parse(data),
            "tinyjail and std disagree on {:?}",
            String::from_utf8_lossy(data)
        );
    } else {
        assert_eq!(parsed, None, "non-UTF-8 text accepted: {data:?}");
    }

    if let Some(cidr) = parse_cidr(data) {
        let slash = data.iter().position(|&b| b == b'/').expect("a prefix");
        assert_eq!(Some(cidr.addr), parse_addr(&data[..slash]));
        assert!(cidr.prefix <= cidr.addr.max_prefix());
        let prefix = &data[slash + 1..];
        assert_eq!(prefix, cidr.prefix.to_string().as_bytes());
    }
});
