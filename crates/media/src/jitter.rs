//! Adaptive jitter buffer.
//!
//! Packets go in with their arrival time ([`JitterBuffer::push`]); the playout
//! clock takes one frame out every frame period ([`JitterBuffer::pop`]) and is
//! told whether to decode a payload, rebuild a lost frame from the next one's
//! FEC, conceal, or play silence.
//!
//! The delay model: for each packet the *relative delay* `arrival - timestamp`
//! (in RTP ticks) is kept for the last two seconds. Its minimum is the base
//! delay, and the spread (maximum − minimum) is the jitter that must be
//! absorbed. The frame whose timestamp is `now − base − target` should be
//! playing now, with `target = spread + margin`. A frame is played only once
//! it is due; when playout runs more than one and a half frames late (too
//! much buffered: the jitter dropped) one frame is skipped; when it runs early
//! (the jitter grew), one concealment frame is inserted. Before anything has
//! played, a first frame already a whole frame past due is skipped, so a
//! speaker clock phased after the first packet came does not carry that
//! frame as delay for the whole call. A timestamp jump (a new talk spurt after
//! silence, or a peer that restarts its clock) moves the relative delay by more
//! than a second and resynchronises the buffer. Packets older than what is
//! playing are late and dropped. Everything is in RTP ticks; the clock is the
//! caller's `Instant`.
//!
//! Look-ahead: for codecs that rebuild a lost frame better from the one after
//! it (Opus FEC, G.711 interpolation), a loss makes the buffer want one frame
//! more delay until five seconds pass without a loss, so the next packet is at
//! hand when the next frame is missing. The frame is added (and later taken
//! away) at a quiet frame — the session says which frames were quiet — so the
//! inserted or skipped frame falls in a pause, not next to the concealed one;
//! after a second with no pause it is added anyway. A clean link never pays it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Relative delays remembered (10 s of 20 ms packets): the delay grows at
/// once when jitter grows, and shrinks only when a high delay has not been
/// seen for ten seconds, so the buffer does not pump.
const WINDOW: usize = 500;

/// Frames (1 s) a delay change for the look-ahead waits for a quiet frame
/// before it is made anyway: a call with no pauses still gets it.
const BOOST_WAIT: u32 = 50;

/// Consecutive missing frames with nothing buffered after which the stream
/// counts as paused rather than lossy.
const PAUSE_AFTER: u32 = 10;

/// What to play for one frame period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Nothing received yet (or the stream stopped long ago): play silence.
    Silence,
    /// Decode this payload.
    Decode(Bytes),
    /// The frame was lost but the next one is here: rebuild it from that one's
    /// redundancy (Opus FEC) or conceal.
    Recover(Bytes),
    /// The frame was lost (or a frame is inserted to grow the delay): conceal.
    Conceal,
}

/// Counters of what the buffer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// Duplicates of a packet already buffered.
    pub duplicates: u64,
    /// Frames skipped to shrink the delay.
    pub skipped: u64,
    /// Frames inserted to grow the delay.
    pub inserted: u64,
    /// Frames concealed because their packet was missing at playout time.
    pub concealed: u64,
    /// Resynchronisations after timestamp jumps.
    pub resyncs: u64,
}

/// The adaptive jitter buffer of one stream.
#[derive(Debug)]
pub struct JitterBuffer {
    clock_rate: u32,
    frame: i64,
    margin: i64,
    min_target: i64,
    max_target: i64,
    packets: BTreeMap<i64, Bytes>,
    max_packets: usize,
    epoch: Option<Instant>,
    last_ts: Option<(u32, i64)>,
    delays: [i64; WINDOW],
    delay_count: usize,
    delay_pos: usize,
    base: i64,
    spread: i64,
    next: Option<i64>,
    playing: bool,
    misses: u32,
    /// The decoder rebuilds a lost frame better from the next one (Opus FEC,
    /// G.711 interpolation): after a loss, one frame of look-ahead is worth
    /// its delay.
    look_ahead: bool,
    /// Frames left during which the look-ahead frame is wanted after a loss.
    fec_boost: u32,
    /// The look-ahead frame is part of the delay now. It is added and taken
    /// away while the sound is quiet, where the inserted or skipped frame is
    /// not heard, or after [`BOOST_WAIT`] frames without a quiet one.
    boosted: bool,
    /// Frames the change of `boosted` has waited for a quiet one.
    boost_wait: u32,
    /// The frame played last was quiet (told by the session).
    quiet: bool,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for a stream at `clock_rate` with frames of `frame_ticks`.
    pub fn new(clock_rate: u32, frame_ticks: u32) -> JitterBuffer {
        let ms = |m: i64| m * i64::from(clock_rate) / 1000;
        JitterBuffer {
            clock_rate,
            frame: i64::from(frame_ticks),
            margin: ms(3),
            min_target: ms(3),
            max_target: ms(400),
            packets: BTreeMap::new(),
            max_packets: 64,
            epoch: None,
            last_ts: None,
            delays: [0; WINDOW],
            delay_count: 0,
            delay_pos: 0,
            base: 0,
            spread: 0,
            next: None,
            playing: false,
            misses: 0,
            look_ahead: false,
            fec_boost: 0,
            boosted: false,
            boost_wait: 0,
            quiet: true,
            stats: JitterStats::default(),
        }
    }

    fn ticks(&self, now: Instant) -> i64 {
        let since = self
            .epoch
            .map(|e| now.saturating_duration_since(e))
            .unwrap_or(Duration::ZERO);
        i64::try_from(since.as_micros() * u128::from(self.clock_rate) / 1_000_000)
            .unwrap_or(i64::MAX / 2)
    }

    fn unwrap_ts(&mut self, ts: u32) -> i64 {
        let ext = match self.last_ts {
            None => i64::from(ts),
            Some((last, last_ext)) => last_ext + i64::from(ts.wrapping_sub(last) as i32),
        };
        if self.last_ts.is_none_or(|(_, e)| ext > e) {
            self.last_ts = Some((ts, ext));
        }
        ext
    }

    fn reset_delays(&mut self) {
        self.delay_count = 0;
        self.delay_pos = 0;
    }

    fn record_delay(&mut self, d: i64) {
        if let Some(slot) = self.delays.get_mut(self.delay_pos) {
            *slot = d;
        }
        self.delay_pos = (self.delay_pos + 1) % WINDOW;
        self.delay_count = (self.delay_count + 1).min(WINDOW);
        let window = self.delays.get(..self.delay_count).unwrap_or(&[]);
        let min = window.iter().copied().min().unwrap_or(d);
        let max = window.iter().copied().max().unwrap_or(d);
        self.base = min;
        self.spread = max - min;
    }

    /// The playout delay the buffer aims for now.
    pub fn target_delay(&self) -> Duration {
        let t = self.target();
        Duration::from_micros(
            u64::try_from(t).unwrap_or(0) * 1_000_000 / u64::from(self.clock_rate),
        )
    }

    fn target(&self) -> i64 {
        let boost = if self.boosted { self.frame } else { 0 };
        (self.spread + self.margin + boost).clamp(self.min_target, self.max_target)
    }

    /// Tells the buffer the decoder can rebuild a lost frame better from the
    /// next one (Opus in-band FEC, G.711 interpolation). After a loss it then
    /// keeps one frame more until five seconds pass without one, so the next
    /// packet is usually there when a frame is missing. The frame is added at
    /// the first quiet frame after the loss (see [`JitterBuffer::set_quiet`]),
    /// not at the loss, where a second synthetic frame would follow the
    /// concealed one.
    pub fn set_look_ahead(&mut self, on: bool) {
        self.look_ahead = on;
    }

    /// Tells the buffer whether the frame just played was quiet (a pause in
    /// speech): a frame inserted or skipped to change the delay is made then.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// Whether the look-ahead frame is part of the delay now.
    pub fn looking_ahead(&self) -> bool {
        self.boosted
    }

    /// A packet arrived at `now` with RTP timestamp `ts`.
    pub fn push(&mut self, now: Instant, ts: u32, payload: Bytes) {
        if self.epoch.is_none() {
            self.epoch = Some(now);
        }
        let ext = self.unwrap_ts(ts);
        let d = self.ticks(now) - ext;
        let second = i64::from(self.clock_rate);
        if self.delay_count > 0 && (d - self.base).abs() > second {
            // The sender's timestamps jumped: start over from this packet.
            self.stats.resyncs += 1;
            self.reset_delays();
            self.packets.clear();
            self.next = None;
        }
        self.record_delay(d);
        if let Some(n) = self.next
            && ext < n
        {
            self.stats.late += 1;
            return;
        }
        if self.packets.contains_key(&ext) {
            self.stats.duplicates += 1;
            return;
        }
        if self.packets.len() >= self.max_packets {
            self.packets.pop_first();
        }
        self.packets.insert(ext, payload);
        if self.next.is_none() {
            self.next = Some(ext);
        }
    }

    /// What to play for the frame period starting at `now`.
    pub fn pop(&mut self, now: Instant) -> Playout {
        let Some(mut n) = self.next else {
            return Playout::Silence;
        };
        let wanted = self.fec_boost > 0;
        if wanted == self.boosted {
            self.boost_wait = 0;
        } else if self.quiet || self.boost_wait >= BOOST_WAIT {
            self.boosted = wanted;
            self.boost_wait = 0;
        } else {
            self.boost_wait += 1;
        }
        let ideal = self.ticks(now) - self.base - self.target();
        let lag = ideal - n;
        if lag < 0 {
            // Early: hold back (grow the delay) until the frame is due.
            if !self.playing {
                return Playout::Silence;
            }
            self.stats.inserted += 1;
            return Playout::Conceal;
        }
        // Far behind (e.g. after a long gap), or nothing played yet and the
        // first frame already a whole frame late (the speaker's clock was
        // phased after it came): jump to the frame due now rather than carry
        // the lateness as delay.
        let far_behind = lag > 8 * self.frame;
        if far_behind || (!self.playing && lag >= self.frame) {
            n += (lag / self.frame) * self.frame;
            if far_behind {
                self.stats.resyncs += 1;
            }
            let keep = self.packets.split_off(&n);
            self.stats.skipped += u64::try_from(self.packets.len()).unwrap_or(0);
            self.packets = keep;
        } else if lag > self.frame + self.frame / 2 {
            // Too much buffered: skip one frame.
            self.stats.skipped += 1;
            self.packets.remove(&n);
            n += self.frame;
        }
        let out = match self.packets.remove(&n) {
            Some(p) => {
                self.playing = true;
                self.misses = 0;
                Playout::Decode(p)
            }
            None if !self.playing => Playout::Silence,
            // The stream paused (DTX, hold, or it ended): after 200 ms of
            // nothing, stop concealing and play silence.
            None if self.misses >= PAUSE_AFTER && self.packets.is_empty() => Playout::Silence,
            None => {
                self.misses += 1;
                self.stats.concealed += 1;
                if self.look_ahead {
                    self.fec_boost = 250;
                }
                match self.packets.get(&(n + self.frame)) {
                    Some(p) => Playout::Recover(p.clone()),
                    None => Playout::Conceal,
                }
            }
        };
        // Drop anything that is now in the past.
        while let Some((&k, _)) = self.packets.first_key_value() {
            if k > n {
                break;
            }
            self.packets.pop_first();
        }
        self.next = Some(n + self.frame);
        self.fec_boost = self.fec_boost.saturating_sub(1);
        out
    }

    /// Packets waiting.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// No packets waiting.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Consecutive frames concealed so far (0 after a decoded frame).
    pub fn consecutive_misses(&self) -> u32 {
        self.misses
    }

    /// Forgets the stream (new SSRC): the next packet starts a new one.
    pub fn reset(&mut self) {
        self.packets.clear();
        self.reset_delays();
        self.last_ts = None;
        self.epoch = None;
        self.next = None;
        self.playing = false;
        self.misses = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_testkit::Rng;

    const FRAME: u32 = 160;

    fn payload(i: u32) -> Bytes {
        Bytes::from(i.to_be_bytes().to_vec())
    }

    fn id(p: &Playout) -> Option<u32> {
        match p {
            Playout::Decode(b) => Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            _ => None,
        }
    }

    /// Sends 20 ms packets with random extra delay in `0..jitter_ms` and plays
    /// out every 20 ms; returns what was played and the buffer.
    fn run(jitter_ms: u64, loss_every: Option<u32>, n: u32) -> (Vec<Playout>, JitterBuffer) {
        run_with(jitter_ms, loss_every, n, false)
    }

    fn run_with(
        jitter_ms: u64,
        loss_every: Option<u32>,
        n: u32,
        fec: bool,
    ) -> (Vec<Playout>, JitterBuffer) {
        let t0 = Instant::now();
        let mut rng = Rng::new(7);
        let mut arrivals: Vec<(Instant, u32)> = (0..n)
            .filter(|i| loss_every.is_none_or(|k| i % k != k - 1))
            .map(|i| {
                let extra = if jitter_ms > 0 {
                    (rng.unit() * jitter_ms as f64) as u64
                } else {
                    0
                };
                (t0 + Duration::from_millis(u64::from(i) * 20 + extra), i)
            })
            .collect();
        arrivals.sort();
        let mut jb = JitterBuffer::new(8000, FRAME);
        jb.set_look_ahead(fec);
        let mut played = Vec::new();
        let mut k = 0;
        for tick in 0..(n + 40) {
            let now = t0 + Duration::from_millis(u64::from(tick) * 20 + 1);
            while k < arrivals.len() && arrivals[k].0 <= now {
                let (at, i) = arrivals[k];
                jb.push(at, 1000 + i * FRAME, payload(i));
                k += 1;
            }
            played.push(jb.pop(now));
        }
        (played, jb)
    }

    #[test]
    fn clean_stream_plays_every_frame_in_order() {
        let (played, jb) = run(0, None, 100);
        let ids: Vec<u32> = played.iter().filter_map(id).collect();
        assert_eq!(ids, (0..100).collect::<Vec<_>>());
        assert_eq!(
            played.iter().filter(|p| **p == Playout::Conceal).count(),
            10,
            "only the pause after the end"
        );
        assert!(jb.target_delay() <= Duration::from_millis(20));
    }

    #[test]
    fn jitter_is_absorbed_without_loss_once_adapted() {
        let (played, jb) = run(60, None, 500);
        let ids: Vec<u32> = played.iter().filter_map(id).collect();
        // Reordered arrivals come out in order.
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order");
        // After the first second the buffer has grown enough to lose (almost) nothing.
        let missing_late = (50..500).filter(|i| !ids.contains(i)).count();
        assert!(
            missing_late <= 5,
            "{missing_late} frames lost after adapting"
        );
        let target = jb.target_delay();
        assert!(
            target >= Duration::from_millis(40) && target <= Duration::from_millis(80),
            "target {target:?} for 60 ms of jitter"
        );
    }

    #[test]
    fn a_first_frame_already_a_frame_late_is_dropped_not_carried_as_delay() {
        // Packets every 20 ms; the speaker's ticks fall 25 ms after each
        // arrival, so at the first tick packet 0 is 22 ms past due (3 ms of
        // margin) and packet 1 is in.
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, FRAME);
        let mut played = Vec::new();
        let mut next = 0u32;
        for tick in 0..50u32 {
            let now = t0 + Duration::from_millis(u64::from(tick) * 20 + 25);
            while t0 + Duration::from_millis(u64::from(next) * 20) <= now {
                let at = t0 + Duration::from_millis(u64::from(next) * 20);
                jb.push(at, 1000 + next * FRAME, payload(next));
                next += 1;
            }
            played.push(id(&jb.pop(now)));
        }
        // Every tick plays the packet that came 5 ms before it, from the
        // first: packet 0 is given up instead of delaying all the others by
        // a frame.
        let want: Vec<Option<u32>> = (1..51).map(Some).collect();
        assert_eq!(played, want);
        assert_eq!(jb.stats().skipped, 1);
    }

    /// Plays packets 0..n (losing those in `lost`) with the look-ahead on,
    /// telling the buffer that frames in `pause` are quiet; returns what was
    /// played per tick.
    fn run_quiet(
        n: u32,
        lost: &[u32],
        pause: std::ops::Range<u32>,
    ) -> (Vec<Playout>, JitterBuffer) {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, FRAME);
        jb.set_look_ahead(true);
        let mut played = Vec::new();
        let mut sent = 0;
        let mut last_id = 0;
        for tick in 0..n {
            let now = t0 + Duration::from_millis(u64::from(tick) * 20 + 4);
            while sent <= tick {
                if !lost.contains(&sent) {
                    jb.push(
                        t0 + Duration::from_millis(u64::from(sent) * 20),
                        1000 + sent * FRAME,
                        payload(sent),
                    );
                }
                sent += 1;
            }
            let p = jb.pop(now);
            if let Some(i) = id(&p) {
                last_id = i;
            }
            jb.set_quiet(pause.contains(&last_id));
            played.push(p);
        }
        (played, jb)
    }

    #[test]
    fn the_look_ahead_frame_is_added_in_a_pause_not_after_the_loss() {
        // Loss at 20 while talking, a pause at 40–45, another loss at 60.
        let (played, jb) = run_quiet(100, &[20, 60], 40..46);
        let at = |i: u32| played.iter().position(|p| id(p) == Some(i)).unwrap();
        // The loss is concealed once, and the next frame follows at once: no
        // second synthetic frame right after the concealed one.
        assert_eq!(
            played[at(19) + 1],
            Playout::Conceal,
            "loss at 20 concealed: {:?}",
            &played[at(19)..at(19) + 4]
        );
        assert_eq!(
            at(21),
            at(19) + 2,
            "21 plays right after: {:?}",
            &played[at(19)..at(19) + 4]
        );
        // The extra frame goes in during the pause.
        let inserted: Vec<usize> = played
            .iter()
            .enumerate()
            .filter(|(k, p)| **p == Playout::Conceal && *k != at(19) + 1)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(inserted.len(), 1, "one frame inserted: {inserted:?}");
        assert!(
            inserted[0] > at(40) && inserted[0] <= at(46),
            "in the pause: {inserted:?}"
        );
        // So the next loss finds its successor waiting.
        assert!(
            played.iter().any(|p| *p == Playout::Recover(payload(61))),
            "loss at 60 rebuilt from 61"
        );
        assert!(jb.looking_ahead());
    }

    #[test]
    fn without_a_pause_the_look_ahead_frame_comes_after_a_second() {
        let (played, _) = run_quiet(150, &[20, 100], 0..0);
        let at = |i: u32| played.iter().position(|p| id(p) == Some(i)).unwrap();
        let inserted = played
            .iter()
            .enumerate()
            .position(|(k, p)| *p == Playout::Conceal && k > at(19) + 1)
            .unwrap();
        let waited = inserted - at(19);
        assert!(
            (BOOST_WAIT as usize..=BOOST_WAIT as usize + 3).contains(&waited),
            "inserted {waited} frames after the loss"
        );
        assert!(played.iter().any(|p| *p == Playout::Recover(payload(101))));
    }

    #[test]
    fn losses_are_concealed_with_fec_when_the_next_packet_is_there() {
        let (played, _) = run(0, Some(10), 100);
        let last = played.iter().rposition(|p| id(p).is_some()).unwrap();
        let patched = played[..last]
            .iter()
            .filter(|p| matches!(p, Playout::Recover(_) | Playout::Conceal))
            .count();
        assert_eq!(patched, 9, "every loss before the end is patched once");
        let (played, jb) = run_with(0, Some(10), 100, true);
        assert!(
            jb.target_delay() >= Duration::from_millis(20),
            "one frame kept for FEC"
        );
        let last_decoded = played.iter().rposition(|p| id(p).is_some()).unwrap();
        let recovered = played[..last_decoded]
            .iter()
            .filter(|p| matches!(p, Playout::Recover(_)))
            .count();
        // From the second loss on the next packet is always waited for.
        assert!(
            recovered >= 8,
            "every later loss is rebuilt from FEC ({recovered})"
        );
        let tail = &played[last_decoded + 1..];
        assert_eq!(
            tail.iter().filter(|p| **p == Playout::Conceal).count(),
            10,
            "the final loss and the pause"
        );
        assert!(
            tail.last() == Some(&Playout::Silence),
            "a stopped stream goes silent"
        );
    }

    #[test]
    fn a_timestamp_jump_resynchronises() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, FRAME);
        let mut decoded = 0;
        for i in 0..200u32 {
            let now = t0 + Duration::from_millis(u64::from(i) * 20);
            // After 100 frames the sender's timestamps jump by an hour.
            let ts = if i < 100 {
                i * FRAME
            } else {
                i * FRAME + 8000 * 3600
            };
            jb.push(now, ts, payload(i));
            if id(&jb.pop(now + Duration::from_millis(1))).is_some() {
                decoded += 1;
            }
        }
        assert!(jb.stats().resyncs >= 1);
        assert!(decoded >= 190, "only {decoded} of 200 decoded");
    }

    #[test]
    fn late_and_duplicate_packets_are_counted_and_dropped() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, FRAME);
        jb.push(t0, 0, payload(0));
        jb.push(t0, 0, payload(0));
        assert_eq!(jb.stats().duplicates, 1);
        let _ = jb.pop(t0 + Duration::from_millis(20));
        let _ = jb.pop(t0 + Duration::from_millis(40));
        jb.push(t0 + Duration::from_millis(45), 0, payload(0));
        assert_eq!(jb.stats().late, 1);
    }
}
