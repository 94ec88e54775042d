//! One line of output, built in a fixed buffer without `core::fmt`.

use crate::sys;

/// Capacity of one line. Longer lines are cut, never overflowed.
pub const LINE_CAPACITY: usize = 1024;

/// A line of text being assembled for stdout or stderr.
pub struct Line {
    buf: heapless::Vec<u8, LINE_CAPACITY>,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    pub const fn new() -> Self {
        Line {
            buf: heapless::Vec::new(),
        }
    }

    /// Appends bytes; what does not fit is dropped.
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        let room = LINE_CAPACITY - self.buf.len();
        let _ = self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self
    }

    /// Appends bytes with control characters shown as `\xNN`, so that a value from the
    /// command line can never break the line or move the terminal's cursor.
    pub fn escaped(&mut self, bytes: &[u8]) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &b in bytes {
            if b < 0x20 || b == 0x7f {
                self.push(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            } else {
                self.push(&[b]);
            }
        }
        self
    }

    pub fn str(&mut self, text: &str) -> &mut Self {
        self.push(text.as_bytes())
    }

    /// Appends an unsigned number in decimal.
    pub fn number(&mut self, value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut v = value;
        loop {
            at -= 1;
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[at..])
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Writes the line, with a newline, to stderr.
    pub fn to_stderr(&mut self) {
        self.emit(2);
    }

    /// Writes the line, with a newline, to stdout.
    pub fn to_stdout(&mut self) {
        self.emit(1);
    }

    fn emit(&mut self, fd: i32) {
        if self.buf.last() != Some(&b'\n') {
            if self.buf.is_full() {
                self.buf.pop();
            }
            let _ = self.buf.push(b'\n');
        }
        let _ = sys::write_all(fd, &self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut l = Line::new();
        l.number(0).str(" ").number(42).str(" ").number(u64::MAX);
        assert_eq!(l.as_bytes(), b"0 42 18446744073709551615");
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut l = Line::new();
        l.escaped(b"a\nb\x1b[2Jc\x7f");
        assert_eq!(l.as_bytes(), b"a\\x0ab\\x1b[2Jc\\x7f");
    }

    #[test]
    fn long_lines_are_cut() {
        let mut l = Line::new();
        for _ in 0..2000 {
            l.str("x");
        }
        assert_eq!(l.as_bytes().len(), LINE_CAPACITY);
    }
}
