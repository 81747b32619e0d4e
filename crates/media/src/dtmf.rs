//! RFC 4733 telephone events (DTMF digits in RTP).
//!
//! Sending: a digit becomes a series of event packets, one per frame period,
//! all with the timestamp of the event's start and a growing duration; the
//! first has the marker bit; the end is sent three times with the E bit
//! (redundancy against loss). Receiving: an event is reported once, on the
//! first packet with a new timestamp, so a lost start or lost end packets do
//! not lose or double the digit.

/// A DTMF event code for a key (`0`–`9`, `*`, `#`, `A`–`D`), RFC 4733 §3.2.
pub fn event_code(key: char) -> Option<u8> {
    Some(match key.to_ascii_uppercase() {
        c @ '0'..='9' => c as u8 - b'0',
        '*' => 10,
        '#' => 11,
        c @ 'A'..='D' => c as u8 - b'A' + 12,
        _ => return None,
    })
}

/// The key of an event code.
pub fn event_key(code: u8) -> Option<char> {
    Some(match code {
        0..=9 => char::from(b'0' + code),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + code - 12),
        16 => '!',
        _ => return None,
    })
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    /// Event code.
    pub event: u8,
    /// End of the event.
    pub end: bool,
    /// Volume, 0 to -63 dBm0 as a positive number.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl EventPayload {
    /// Reads the 4-byte payload (further event blocks, if any, are ignored).
    pub fn parse(b: &[u8]) -> Option<EventPayload> {
        let [event, flags, d0, d1, ..] = *b else {
            return None;
        };
        Some(EventPayload {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-byte wire form.
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (if self.end { 0x80 } else { 0 }) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// Digits queued for sending and the one in progress.
#[derive(Debug, Default)]
pub struct DtmfSender {
    queue: std::collections::VecDeque<(u8, u32)>,
    current: Option<Sending>,
    /// Frames of pause left between two digits.
    gap: u32,
}

#[derive(Debug)]
struct Sending {
    event: u8,
    /// Timestamp of the event start (set by the session when the first packet goes).
    start_ts: Option<u32>,
    /// Frames sent so far.
    frames: u32,
    /// Frames the tone lasts.
    length: u32,
    /// End packets still to send.
    ends_left: u8,
}

/// What the sender wants to put on the wire for one frame period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfFrame {
    /// No event: send audio.
    Audio,
    /// Send this event payload; `marker` on the first packet; `start_ts` is
    /// `None` for the first packet (the session uses the current timestamp).
    Event {
        /// The payload.
        payload: EventPayload,
        /// First packet of the event.
        marker: bool,
        /// The event's timestamp once started.
        start_ts: Option<u32>,
    },
    /// Between digits: neither audio nor events (audio is muted for the gap).
    Gap,
}

impl DtmfSender {
    /// Queues digits (keys not in 0–9 * # A–D are skipped); each lasts `ms`
    /// (at least 40 ms) with a 60 ms gap after.
    pub fn queue(&mut self, digits: &str, ms: u32) -> usize {
        let frames = ms.max(40).div_ceil(20);
        let mut n = 0;
        for code in digits.chars().filter_map(event_code) {
            self.queue.push_back((code, frames));
            n += 1;
        }
        n
    }

    /// Whether a digit is being sent or waits.
    pub fn is_active(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty() || self.gap > 0
    }

    /// Advances one frame period; `ticks_per_frame` converts frames to duration units.
    pub fn next_frame(&mut self, ticks_per_frame: u32) -> DtmfFrame {
        if self.current.is_none() {
            if self.gap > 0 {
                self.gap -= 1;
                return DtmfFrame::Gap;
            }
            let Some((event, length)) = self.queue.pop_front() else {
                return DtmfFrame::Audio;
            };
            self.current = Some(Sending {
                event,
                start_ts: None,
                frames: 0,
                length,
                ends_left: 3,
            });
        }
        let Some(s) = self.current.as_mut() else {
            return DtmfFrame::Audio;
        };
        let marker = s.frames == 0;
        s.frames = (s.frames + 1).min(s.length);
        let duration = u16::try_from(s.frames * ticks_per_frame).unwrap_or(u16::MAX);
        let end = s.frames >= s.length;
        if end {
            s.ends_left = s.ends_left.saturating_sub(1);
        }
        let frame = DtmfFrame::Event {
            payload: EventPayload {
                event: s.event,
                end,
                volume: 10,
                duration,
            },
            marker,
            start_ts: s.start_ts,
        };
        if end && s.ends_left == 0 {
            self.current = None;
            self.gap = 3;
        }
        frame
    }

    /// Records the timestamp the session gave the event's first packet.
    pub fn started_at(&mut self, ts: u32) {
        if let Some(s) = self.current.as_mut()
            && s.start_ts.is_none()
        {
            s.start_ts = Some(ts);
        }
    }
}

/// Reports each received event once.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    last_ts: Option<u32>,
}

impl DtmfReceiver {
    /// A telephone-event packet arrived; returns the key if it starts a new event.
    pub fn receive(&mut self, ts: u32, payload: &[u8]) -> Option<char> {
        let ev = EventPayload::parse(payload)?;
        if self.last_ts == Some(ts) {
            return None;
        }
        self.last_ts = Some(ts);
        event_key(ev.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digit_is_a_marked_start_growing_duration_and_three_ends() {
        let mut s = DtmfSender::default();
        assert_eq!(s.queue("5x#", 100), 2, "x is not a key");
        let mut frames = Vec::new();
        while s.is_active() {
            let f = s.next_frame(160);
            if let DtmfFrame::Event { start_ts: None, .. } = f {
                s.started_at(4242);
            }
            frames.push(f);
        }
        let events: Vec<_> = frames
            .iter()
            .filter_map(|f| match f {
                DtmfFrame::Event {
                    payload, marker, ..
                } => Some((*payload, *marker)),
                _ => None,
            })
            .collect();
        // 100 ms = 5 frames, the last of which is an end packet sent three times.
        let five: Vec<_> = events.iter().filter(|(p, _)| p.event == 5).collect();
        assert_eq!(five.len(), 7);
        assert!(five[0].1 && !five[1].1, "marker only on the first");
        assert_eq!(five.iter().filter(|(p, _)| p.end).count(), 3);
        assert!(five.iter().all(|(p, _)| p.duration <= 800));
        assert_eq!(five.last().unwrap().0.duration, 800);
        assert_eq!(frames.iter().filter(|f| **f == DtmfFrame::Gap).count(), 6);
        assert!(events.iter().any(|(p, _)| p.event == 11));
    }

    #[test]
    fn receiver_reports_each_event_once_even_without_its_start() {
        let mut r = DtmfReceiver::default();
        let p = |ev: u8, end: bool, d: u16| {
            EventPayload {
                event: ev,
                end,
                volume: 10,
                duration: d,
            }
            .to_bytes()
        };
        // Start packet lost: the second packet still reports the digit.
        assert_eq!(r.receive(1000, &p(1, false, 320)), Some('1'));
        assert_eq!(r.receive(1000, &p(1, true, 800)), None);
        assert_eq!(r.receive(1000, &p(1, true, 800)), None);
        assert_eq!(r.receive(3000, &p(10, false, 160)), Some('*'));
        assert_eq!(r.receive(5000, &[1, 2]), None, "truncated payload");
    }

    #[test]
    fn key_codes_round_trip() {
        for k in "0123456789*#ABCD".chars() {
            assert_eq!(event_key(event_code(k).unwrap()), Some(k));
        }
        assert_eq!(event_code('e'), None);
    }
}
