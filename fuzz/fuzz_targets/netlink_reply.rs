//! The rtnetlink reply parsers: `parse_ack`, `parse_reply`, `parse_link_reply` and the
//! attribute iterator, over any bytes a socket could return. Input: 4 bytes of sequence
//! number (native order), then the datagram.
//!
//! Checked: no panic, no out-of-bounds read (ASan); what the parsers hand back lies inside
//! the datagram; a data message is one whole, aligned netlink message; an error carries a
//! positive errno and its text has no NUL; the attribute iterator ends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyjail::net::netlink::{
    parse_ack, parse_link_reply, parse_reply, AckOutcome, Attrs, KernelError, Reply, NLMSG_HDR_LEN,
};

fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (start, end) = (
        whole.as_ptr() as usize,
        whole.as_ptr() as usize + whole.len(),
    );
    let p = part.as_ptr() as usize;
    part.is_empty() || (p >= start && p + part.len() <= end)
}

fn check_error(e: &KernelError, reply: &[u8]) {
    assert!(e.errno > 0);
    if let Some(text) = e.message {
        assert!(inside(text, reply));
        assert!(!text.contains(&0));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((seq, reply)) = data.split_first_chunk::<4>() else {
        return;
    };
    let seq = u32::from_ne_bytes(*seq);

    match parse_ack(reply, seq) {
        Ok(AckOutcome::Error(e)) => check_error(&e, reply),
        Ok(AckOutcome::Ack | AckOutcome::Pending) | Err(_) => {}
    }

    match parse_reply(reply, seq) {
        Ok(Reply::Message(msg)) => {
            assert!(inside(msg, reply));
            assert!(msg.len() >= NLMSG_HDR_LEN && msg.len() % 4 == 0);
            let len = u32::from_ne_bytes(msg[..4].try_into().unwrap()) as usize;
            assert_eq!(len, msg.len());
            let got_seq = u32::from_ne_bytes(msg[8..12].try_into().unwrap());
            assert_eq!(got_seq, seq);
            let _ = parse_link_reply(msg);
        }
        Ok(Reply::Error(e)) => check_error(&e, reply),
        Ok(Reply::Ack | Reply::Pending) | Err(_) => {}
    }

    // The link parser on raw bytes too: a datagram that is not one message.
    let _ = parse_link_reply(reply);

    // The attribute iterator yields at most one item per 4 bytes, and then ends.
    let mut items = 0usize;
    for attr in Attrs::new(reply) {
        items += 1;
        assert!(
            items <= reply.len() / 4 + 1,
            "the attribute iterator does not end"
        );
        if let Ok((_, payload)) = attr {
            assert!(inside(payload, reply));
        }
    }
});
