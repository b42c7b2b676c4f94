//! Server-sent events as they arrive: a byte stream split into lines in linear time, with a
//! cap on one line's length.

/// Splits a byte stream into lines in linear time: a cursor marks how far the buffer has been
/// searched, consumed lines are dropped in amortised O(1), and a line longer than `max` is an
/// error instead of a buffer that grows without end.
pub(super) struct Lines {
    buf: Vec<u8>,
    /// Start of the first line not yet returned.
    start: usize,
    /// Bytes from `start` up to here hold no newline.
    searched: usize,
    max: usize,
    /// Bytes looked at so far (each byte once).
    pub(super) scanned: usize,
}

impl Lines {
    pub(super) fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            searched: 0,
            max,
            scanned: 0,
        }
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.searched = 0;
        } else if self.start > 0 && self.start >= self.buf.len() / 2 {
            // Moves at most as many bytes as were consumed since the last move.
            self.buf.drain(..self.start);
            self.searched -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole line (without its `\n`), `None` until one has arrived, `Err(len)` when the
    /// pending line is longer than the limit.
    pub(super) fn next_line(&mut self) -> Result<Option<&[u8]>, usize> {
        let from = self.searched.max(self.start);
        let found = self.buf[from..].iter().position(|&b| b == b'\n');
        self.scanned += found.map_or(self.buf.len() - from, |i| i + 1);
        match found {
            Some(i) => {
                let end = from + i;
                if end - self.start > self.max {
                    return Err(end - self.start);
                }
                let line = self.start..end;
                self.start = end + 1;
                self.searched = self.start;
                Ok(Some(&self.buf[line]))
            }
            None => {
                self.searched = self.buf.len();
                match self.buf.len() - self.start {
                    n if n > self.max => Err(n),
                    _ => Ok(None),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_in_linear_time() {
        let mut lines = Lines::new(2 << 20);
        let n = 1 << 20;
        // One byte at a time: the old splitter scanned the whole buffer again each time (n²/2).
        for _ in 0..n {
            lines.push(b"a");
            assert_eq!(lines.next_line(), Ok(None));
        }
        lines.push(b"\nb\r\nc");
        assert_eq!(lines.next_line().unwrap().map(<[u8]>::len), Some(n));
        assert_eq!(lines.next_line(), Ok(Some(&b"b\r"[..])));
        assert_eq!(lines.next_line(), Ok(None));
        assert!(
            lines.scanned <= n + 5,
            "{} bytes scanned for {n}",
            lines.scanned
        );
        lines.push(b"\n");
        assert_eq!(lines.next_line(), Ok(Some(&b"c"[..])));

        let mut short = Lines::new(8);
        short.push(b"0123456789");
        assert_eq!(short.next_line(), Err(10));
        let mut short = Lines::new(8);
        short.push(b"0123456789\n");
        assert_eq!(short.next_line(), Err(10));
    }
}
