//! `LineBuffer`: splits the config stream's bytes into newline-delimited lines in linear time,
//! however the lines are cut into chunks. It remembers where the last search for `\n` stopped,
//! so each byte is examined once; a line that began in an earlier chunk is handed over without
//! a copy, and only bytes of the latest chunk are ever moved, each at most once.
//! A 100k-instance snapshot is one line of tens of megabytes arriving in 16 KiB frames; the
//! previous rescan-from-the-start cost grew with the square of its length.
//!
//! Plain data, no I/O; used by the stream client on the edge runtime.

#[derive(Debug, Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Where the next unreturned line starts.
    start: usize,
    /// Bytes before this were searched and hold no `\n` after `start`.
    scanned: usize,
    /// Bytes examined while searching for `\n`, and bytes moved when dropping consumed lines
    /// (what makes the cost linear, checked by the tests).
    examined: u64,
    moved: u64,
}

impl LineBuffer {
    pub fn new() -> Self {
        LineBuffer::default()
    }

    /// Appends a chunk. The caller bounds memory by checking [`pending`](Self::pending) once the
    /// complete lines are taken out.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            // Only the unfinished tail after the last returned line moves, and it arrived with
            // the previous chunk: each byte moves at most once.
            self.moved += (self.buf.len() - self.start) as u64;
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, without its `\n`. A line that starts the buffer and is longer
    /// than what follows it (every line longer than a chunk) is handed over without copying.
    pub fn take_line(&mut self) -> Option<Vec<u8>> {
        let from = self.scanned;
        let Some(offset) = self.buf[from..].iter().position(|b| *b == b'\n') else {
            self.examined += (self.buf.len() - from) as u64;
            self.scanned = self.buf.len();
            return None;
        };
        self.examined += offset as u64 + 1;
        let end = from + offset;
        let after = self.buf.len() - end - 1;
        if self.start > 0 || end < after {
            // Shorter than what follows it: copy it out (each line is copied once).
            let line = self.buf[self.start..end].to_vec();
            self.start = end + 1;
            self.scanned = self.start;
            return Some(line);
        }
        // Longer than what follows: keep the allocation as the line, move the (shorter) rest.
        // Each such move is less than half the buffer, so moves add up to less than its size.
        let rest = self.buf.split_off(end + 1);
        self.moved += rest.len() as u64;
        let mut line = std::mem::replace(&mut self.buf, rest);
        line.truncate(end);
        self.scanned = 0;
        Some(line)
    }

    /// Bytes of the unfinished line (once [`take_line`](Self::take_line) returned `None`).
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// (bytes examined, bytes moved) so far.
    pub fn work(&self) -> (u64, u64) {
        (self.examined, self.moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(buf: &mut LineBuffer) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| buf.take_line()).collect()
    }

    #[test]
    fn a_fifty_megabyte_line_in_sixteen_kib_chunks_is_parsed_in_one_pass() {
        const LEN: usize = 50 * 1024 * 1024;
        const CHUNK: usize = 16 * 1024;
        let mut stream: Vec<u8> = (0..LEN).map(|i| b'a' + (i % 26) as u8).collect();
        stream.extend_from_slice(b"\n{\"type\":\"heartbeat\",\"version\":7}\n");
        let mut buf = LineBuffer::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(CHUNK) {
            buf.push(chunk);
            got.extend(lines_of(&mut buf));
        }
        assert_eq!(got.len(), 2);
        assert!(got[0].len() == LEN && got[0] == stream[..LEN], "the long line comes back whole");
        assert_eq!(got[1], b"{\"type\":\"heartbeat\",\"version\":7}");
        assert_eq!(buf.pending(), 0);
        let (examined, moved) = buf.work();
        assert_eq!(examined, stream.len() as u64, "every byte is searched exactly once");
        assert!(moved <= CHUNK as u64, "only the tail of one chunk was moved, not the long line: {moved}");
    }

    #[test]
    fn many_short_lines_split_anywhere_come_back_in_order_and_each_byte_moves_at_most_once() {
        let stream: Vec<u8> = (0..5000).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        for chunk_len in [1, 3, 7, 64, 4096] {
            let mut buf = LineBuffer::new();
            let mut got = Vec::new();
            for chunk in stream.chunks(chunk_len) {
                buf.push(chunk);
                got.extend(lines_of(&mut buf));
            }
            let want: Vec<Vec<u8>> = (0..5000).map(|i| format!("line {i}").into_bytes()).collect();
            assert_eq!(got, want, "chunks of {chunk_len}");
            let (examined, moved) = buf.work();
            assert_eq!(examined, stream.len() as u64);
            assert!(moved <= stream.len() as u64);
        }
    }

    #[test]
    fn several_lines_in_one_chunk_and_an_unfinished_one_are_told_apart() {
        let mut buf = LineBuffer::new();
        buf.push(b"short\nanother\nthird\nunfini");
        assert_eq!(lines_of(&mut buf), vec![b"short".to_vec(), b"another".to_vec(), b"third".to_vec()]);
        assert_eq!(buf.pending(), 6);
        buf.push(b"shed\n");
        assert_eq!(lines_of(&mut buf), vec![b"unfinished".to_vec()]);
        assert_eq!(buf.pending(), 0);
    }
}
