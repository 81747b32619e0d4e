//! Framing SIP over a byte stream (RFC 3261 §18.3, RFC 5626 §3.5.1 keep-alives).
//!
//! Bytes arrive in arbitrary pieces: one message split over many reads, or
//! many messages in one read. [`StreamFramer`] buffers them and cuts complete
//! messages by the header block and Content-Length, which is mandatory on a
//! stream. A frame larger than the limit, or a missing or malformed
//! Content-Length, is an error after which the connection must be closed:
//! there is no way to find the next message boundary.

use std::fmt;

use crate::message::{Limits, find_header_end};

/// What the framer cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One complete message (headers and body), ready for `Message::parse`.
    Message(Vec<u8>),
    /// A double-CRLF keep-alive ping; answer with a single CRLF.
    Ping,
    /// A single-CRLF keep-alive pong.
    Pong,
}

/// Why the stream cannot be framed any further. The peer is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The header block or the message exceeds the size limit.
    TooLarge,
    /// No Content-Length, which a stream requires.
    MissingContentLength,
    /// Content-Length is not a number, negative, or two of them disagree.
    BadContentLength,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameError::TooLarge => "message exceeds the size limit",
            FrameError::MissingContentLength => "no Content-Length on a stream transport",
            FrameError::BadContentLength => "malformed Content-Length",
        })
    }
}

impl std::error::Error for FrameError {}

/// Buffers stream bytes and yields [`Frame`]s.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    limits: Limits,
    failed: bool,
}

fn content_length(head: &[u8]) -> Result<usize, FrameError> {
    let text = String::from_utf8_lossy(head);
    let mut found: Option<usize> = None;
    for line in text.split('\n').skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l") {
            let v = value.trim();
            if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FrameError::BadContentLength);
            }
            let n: usize = v.parse().map_err(|_| FrameError::BadContentLength)?;
            if found.is_some_and(|f| f != n) {
                return Err(FrameError::BadContentLength);
            }
            found = Some(n);
        }
    }
    found.ok_or(FrameError::MissingContentLength)
}

impl StreamFramer {
    /// A framer with these limits.
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            buf: Vec::new(),
            limits,
            failed: false,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes buffered but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `None` when more bytes are needed. After an
    /// error the framer yields nothing more.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        if self.failed {
            return None;
        }
        // Keep-alives: CRLFCRLF is a ping, a lone CRLF a pong.
        if self.buf.starts_with(b"\r\n\r\n") {
            self.buf.drain(..4);
            return Some(Ok(Frame::Ping));
        }
        if self.buf.starts_with(b"\r\n") {
            if self.buf.len() < 4 && b"\r\n\r\n".starts_with(&self.buf) {
                // Could still become a ping; wait unless more follows.
                if self.buf.len() == 2 {
                    return None;
                }
                return None;
            }
            self.buf.drain(..2);
            return Some(Ok(Frame::Pong));
        }
        let Some((_, body_start)) = find_header_end(&self.buf) else {
            if self.buf.len() > self.limits.max_message {
                return Some(Err(self.fail(FrameError::TooLarge)));
            }
            return None;
        };
        let head = self.buf.get(..body_start).unwrap_or(&[]);
        let cl = match content_length(head) {
            Ok(n) => n,
            Err(e) => return Some(Err(self.fail(e))),
        };
        let total = body_start + cl;
        if total > self.limits.max_message {
            return Some(Err(self.fail(FrameError::TooLarge)));
        }
        if self.buf.len() < total {
            return None;
        }
        let msg: Vec<u8> = self.buf.drain(..total).collect();
        Some(Ok(Frame::Message(msg)))
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        self.failed = true;
        self.buf.clear();
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn split_reads_join() {
        let mut f = StreamFramer::new(Limits::default());
        for chunk in MSG.chunks(7) {
            assert!(f.next_frame().is_none());
            f.push(chunk);
        }
        assert_eq!(f.next_frame(), Some(Ok(Frame::Message(MSG.to_vec()))));
        assert_eq!(f.next_frame(), None);
    }

    #[test]
    fn merged_reads_split_and_keepalives() {
        let mut f = StreamFramer::new(Limits::default());
        let mut data = b"\r\n\r\n".to_vec();
        data.extend_from_slice(MSG);
        data.extend_from_slice(MSG);
        f.push(&data);
        assert_eq!(f.next_frame(), Some(Ok(Frame::Ping)));
        assert!(matches!(f.next_frame(), Some(Ok(Frame::Message(_)))));
        assert!(matches!(f.next_frame(), Some(Ok(Frame::Message(_)))));
        assert_eq!(f.next_frame(), None);
    }

    #[test]
    fn missing_or_negative_length_fails_for_good() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -5\r\n\r\n");
        assert_eq!(f.next_frame(), Some(Err(FrameError::BadContentLength)));
        f.push(MSG);
        assert_eq!(f.next_frame(), None);
        let mut g = StreamFramer::new(Limits::default());
        g.push(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n");
        assert_eq!(g.next_frame(), Some(Err(FrameError::MissingContentLength)));
    }

    #[test]
    fn oversized_header_block_fails() {
        let mut f = StreamFramer::new(Limits {
            max_message: 100,
            ..Limits::default()
        });
        f.push(&[b'a'; 200]);
        assert_eq!(f.next_frame(), Some(Err(FrameError::TooLarge)));
    }
}
