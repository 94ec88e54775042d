//! IP addresses and prefixes from their text forms, strictly.
//!
//! IPv4: dotted decimal only, four parts of 0 to 255 with no leading zeros (no octal, hex or
//! shortened forms that `inet_aton` would take). IPv6: the text forms of RFC 4291 section
//! 2.2: eight groups of one to four hex digits, one `::` for a run of zero groups, and an
//! IPv4 address in dotted decimal in place of the last two groups. No zone IDs. Prefixes are
//! decimal without leading zeros, at most 32 or 128.

use super::netlink::{IpAddr, IpCidr};

/// `10.0.100.2` or `fd00::1`.
pub fn parse_addr(text: &[u8]) -> Option<IpAddr> {
    if text.contains(&b':') {
        parse_v6(text).map(IpAddr::V6)
    } else {
        parse_v4(text).map(IpAddr::V4)
    }
}

/// `10.0.100.2/24` or `fd00::2/64`: the prefix is required.
pub fn parse_cidr(text: &[u8]) -> Option<IpCidr> {
    let slash = text.iter().position(|&b| b == b'/')?;
    let addr = parse_addr(&text[..slash])?;
    let prefix = decimal(&text[slash + 1..], u32::from(addr.max_prefix()))?;
    Some(IpCidr {
        addr,
        prefix: prefix as u8,
    })
}

/// A decimal number from 0 to `max`, without sign, leading zeros or other characters.
fn decimal(text: &[u8], max: u32) -> Option<u32> {
    if text.is_empty() || text.len() > 3 || (text.len() > 1 && text[0] == b'0') {
        return None;
    }
    let mut n = 0u32;
    for &d in text {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(d - b'0');
    }
    (n <= max).then_some(n)
}

fn parse_v4(text: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for byte in &mut out {
        *byte = decimal(parts.next()?, 255)? as u8;
    }
    parts.next().is_none().then_some(out)
}

fn parse_v6(text: &[u8]) -> Option<[u8; 16]> {
    // The groups before and after "::" (if any), each at most eight 16-bit values.
    let (head, tail) = match find_double_colon(text) {
        Some(at) => (&text[..at], Some(&text[at + 2..])),
        None => (text, None),
    };
    let mut groups = [0u16; 8];
    let mut count = 0;
    let mut tail_groups = [0u16; 8];
    let mut tail_count = 0;
    parse_groups(head, &mut groups, &mut count, tail.is_none())?;
    if let Some(tail) = tail {
        parse_groups(tail, &mut tail_groups, &mut tail_count, true)?;
    }
    let total = count + tail_count;
    match tail {
        // "::" stands for at least one zero group.
        Some(_) if total > 7 => return None,
        None if total != 8 => return None,
        _ => {}
    }
    let mut all = [0u16; 8];
    all[..count].copy_from_slice(&groups[..count]);
    all[8 - tail_count..].copy_from_slice(&tail_groups[..tail_count]);
    let mut out = [0u8; 16];
    for (i, g) in all.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

/// Where "::" starts; `None` if absent. Two of them (or ":::") make the text invalid later:
/// a second "::" leaves an empty group in one of the halves.
fn find_double_colon(text: &[u8]) -> Option<usize> {
    text.windows(2).position(|w| w == b"::")
}

/// Parses colon-separated hex groups into `out`, the last of which may be an IPv4 address
/// (two groups) when `v4_allowed`. An empty text is no groups.
fn parse_groups(
    text: &[u8],
    out: &mut [u16; 8],
    count: &mut usize,
    v4_allowed: bool,
) -> Option<()> {
    if text.is_empty() {
        return Some(());
    }
    let parts = text.split(|&b| b == b':');
    let n_parts = text.split(|&b| b == b':').count();
    for (i, part) in parts.enumerate() {
        let last = i + 1 == n_parts;
        if last && v4_allowed && part.contains(&b'.') {
            let v4 = parse_v4(part)?;
            if *count + 2 > 8 {
                return None;
            }
            out[*count] = u16::from_be_bytes([v4[0], v4[1]]);
            out[*count + 1] = u16::from_be_bytes([v4[2], v4[3]]);
            *count += 2;
            return Some(());
        }
        if part.is_empty() || part.len() > 4 || *count >= 8 {
            return None;
        }
        let mut g = 0u16;
        for &c in part {
            g = g << 4 | u16::from(hex_digit(c)?);
        }
        out[*count] = g;
        *count += 1;
    }
    Some(())
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(text: &str) -> Option<[u8; 16]> {
        match parse_addr(text.as_bytes()) {
            Some(IpAddr::V6(a)) => Some(a),
            _ => None,
        }
    }

    fn std_v6(text: &str) -> [u8; 16] {
        text.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn ipv4_strict() {
        assert_eq!(parse_addr(b"10.0.100.2"), Some(IpAddr::V4([10, 0, 100, 2])));
        assert_eq!(parse_addr(b"0.0.0.0"), Some(IpAddr::V4([0, 0, 0, 0])));
        assert_eq!(parse_addr(b"255.255.255.255"), Some(IpAddr::V4([255; 4])));
        for bad in [
            "10.0.0.300",
            "10.0.0",
            "10.0.0.1.2",
            "010.0.0.1",
            "10.0.0.01",
            "0x0a.0.0.1",
            "10.0.0.1 ",
            " 10.0.0.1",
            "10..0.1",
            "10.0.0.",
            "",
            "1e1.0.0.1",
            "+1.0.0.1",
            "10.0.0.1/24",
            "4294967295",
        ] {
            assert_eq!(parse_addr(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv6_text_forms() {
        for good in [
            "fd00::2",
            "::",
            "::1",
            "1::",
            "fd00:0:0:0:0:0:0:2",
            "FD00::ABCD",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6::8",
            "::ffff:10.0.0.1",
            "64:ff9b::192.0.2.33",
            "1:2:3:4:5:6:1.2.3.4",
            "::1.2.3.4",
            "fe80::1:2",
        ] {
            assert_eq!(v6(good), Some(std_v6(good)), "{good:?}");
        }
        for bad in [
            ":::",
            "1:::2",
            "1::2::3",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7",
            "12345::",
            "g::1",
            "fe80::1%eth0",
            ":1::",
            "1::2:",
            "1:2:3:4:5:6:7:8::",
            "::1.2.3",
            "::1.2.3.04",
            "1.2.3.4::",
            "1:2:3:4:5:6:7:1.2.3.4",
            "fd00::/64",
            "",
        ] {
            assert_eq!(v6(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cidrs() {
        let c = parse_cidr(b"10.0.100.2/24").unwrap();
        assert_eq!((c.addr, c.prefix), (IpAddr::V4([10, 0, 100, 2]), 24));
        assert_eq!(parse_cidr(b"fd00::2/64").unwrap().prefix, 64);
        assert_eq!(parse_cidr(b"fd00::/128").unwrap().prefix, 128);
        assert_eq!(parse_cidr(b"10.0.0.1/0").unwrap().prefix, 0);
        for bad in [
            "10.0.0.300/24",
            "10.0.0.1/33",
            "fd00::/129",
            "10.0.0.1",
            "10.0.0.1/",
            "/24",
            "",
            "10.0.0.1/024",
            "10.0.0.1/+4",
            "10.0.0.1/24/1",
            "10.0.0.1/2a",
        ] {
            assert_eq!(parse_cidr(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn agrees_with_std_on_generated_forms() {
        // Every way of writing a few addresses with "::" at each possible run of zeros.
        let groups: [[u16; 8]; 4] = [
            [0xfd00, 0, 0, 0, 0, 0, 0, 2],
            [0, 0, 0, 0, 0, 0, 0, 0],
            [1, 0, 0, 4, 0, 0, 0, 8],
            [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1],
        ];
        for g in groups {
            let full: Vec<String> = g.iter().map(|x| format!("{x:x}")).collect();
            for start in 0..8 {
                for end in start + 1..=8 {
                    if g[start..end].iter().any(|&x| x != 0) {
                        continue;
                    }
                    let text = format!("{}::{}", full[..start].join(":"), full[end..].join(":"));
                    assert_eq!(v6(&text), Some(std_v6(&text)), "{text}");
                }
            }
        }
    }
}
