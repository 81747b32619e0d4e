//! Events the engine reports, serialisable as the CLI's `--events` JSON lines.

use serde::{Serialize, Serializer};
use switchboard_sip::ua::EndReason;

use crate::CallId;
use crate::error::CommandError;

/// Media statistics carried by `ended`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MediaStats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP packets received.
    pub packets_received: u64,
    /// RTP packets lost (RFC 3550 A.3).
    pub packets_lost: u64,
    /// Interarrival jitter in milliseconds.
    pub jitter_ms: f64,
    /// Negotiated codec, if any.
    pub codec: Option<String>,
    /// Round-trip time from RTCP, if measured.
    pub rtt_ms: Option<f64>,
    /// Frames concealed or rebuilt from FEC.
    pub frames_concealed: u64,
    /// Packets that came too late to play.
    pub late: u64,
    /// Playout delay of the jitter buffer at the end, in ms.
    pub playout_delay_ms: f64,
    /// SRTP packets refused: failed authentication or replayed.
    pub srtp_rejected: u64,
}

impl MediaStats {
    /// From a session's statistics.
    pub fn from_session(codec: &str, s: &switchboard_media::session::Stats) -> MediaStats {
        MediaStats {
            packets_sent: s.packets_sent,
            packets_received: s.packets_received,
            packets_lost: s.packets_lost,
            jitter_ms: (s.jitter_ms * 100.0).round() / 100.0,
            codec: Some(codec.to_owned()),
            rtt_ms: s.rtt_ms.map(|r| (r * 100.0).round() / 100.0),
            frames_concealed: s.frames_concealed,
            late: s.jitter_buffer.late,
            playout_delay_ms: (s.playout_delay_ms * 100.0).round() / 100.0,
            srtp_rejected: s.srtp_rejected,
        }
    }
}

/// One event with its wall-clock time (Unix seconds).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineEvent {
    /// Wall-clock Unix time in seconds.
    pub ts: f64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The engine is up and listening.
    Listening {
        /// Bound SIP address.
        address: String,
    },
    /// Registration accepted.
    Registered {
        /// Granted lifetime in seconds.
        expires: u32,
    },
    /// Registration failed.
    RegistrationFailed {
        /// Final status, if any.
        status: Option<u16>,
        /// What went wrong.
        reason: String,
        /// Seconds until it is tried again on its own (`Register` tries now).
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_in_s: Option<u64>,
    },
    /// Binding removed.
    Unregistered,
    /// A call rings in.
    Incoming {
        /// Call handle for commands.
        call: CallId,
        /// SIP Call-ID.
        call_id: String,
        /// From header.
        from: String,
        /// To header.
        to: String,
        /// Every header of the INVITE, in order (caller context: queue, IVR data ...).
        headers: Vec<(String, String)>,
    },
    /// We placed a call (the INVITE is on its way).
    Calling {
        /// Call handle for commands.
        call: CallId,
        /// SIP Call-ID.
        call_id: String,
        /// The target as given.
        target: String,
    },
    /// Our outgoing call rings.
    Ringing {
        /// Call handle.
        call: CallId,
        /// 180 or 183.
        status: u16,
    },
    /// The call is up.
    Established {
        /// Call handle.
        call: CallId,
        /// SIP Call-ID.
        call_id: String,
        /// Whether we placed it.
        outgoing: bool,
    },
    /// Audio flows: the first microphone frame went to the encoder and the
    /// first speaker frame was played.
    MediaStarted {
        /// Call handle.
        call: CallId,
        /// Negotiated codec.
        codec: String,
        /// Where RTP goes.
        remote: String,
        /// Wall-clock time the first microphone sample entered the encoder path.
        mic_start: f64,
        /// Wall-clock time the first sample was played.
        speaker_start: f64,
        /// The sound is SRTP (which is only keyed over TLS signalling): the
        /// call is encrypted end to end of what we control.
        encrypted: bool,
    },
    /// The peer renegotiated the call's media (re-INVITE): hold, resume, a new
    /// address or codec. `direction` is ours: `recvonly` when the peer holds us.
    MediaUpdated {
        /// Call handle.
        call: CallId,
        /// Codec now in use.
        codec: String,
        /// `sendrecv`, `sendonly`, `recvonly` or `inactive`.
        direction: String,
    },
    /// The call's hold state changed: `local` when we hold the peer,
    /// `remote` when the peer holds us.
    Held {
        /// Call handle.
        call: CallId,
        /// We hold them (they hear the hold tone).
        local: bool,
        /// They hold us.
        remote: bool,
    },
    /// A consultation call for an attended transfer was placed.
    Consulting {
        /// The held call to transfer.
        call: CallId,
        /// The consultation call.
        consult: CallId,
    },
    /// A local three-way conference started (`on`) or ended.
    Conference {
        /// One call.
        call: CallId,
        /// The other.
        other: CallId,
        /// Started or ended.
        on: bool,
    },
    /// How our transfer of `call` goes: 202 (accepted), then the target's
    /// progress (100, 180, 200 …); `done` on the last report, success is 2xx.
    TransferProgress {
        /// Call handle.
        call: CallId,
        /// SIP status.
        status: u16,
        /// The last report.
        done: bool,
    },
    /// The peer asks us to call `target` (policy `ask`): answer with
    /// `AcceptTransfer` or `RejectTransfer`.
    TransferRequested {
        /// Call handle.
        call: CallId,
        /// Whom we would call.
        target: String,
    },
    /// Nothing has come from the peer of an established, unheld call for
    /// `quiet_s` seconds (RTP inactivity). The first report warns; the
    /// second, at twice the time, hangs the call up.
    MediaTimeout {
        /// Call handle.
        call: CallId,
        /// Seconds without a packet.
        quiet_s: u64,
        /// The call is being hung up.
        hanging_up: bool,
    },
    /// Packets come again after a `media_timeout` warning.
    MediaResumed {
        /// Call handle.
        call: CallId,
    },
    /// The peer of `call` asked us to call `target`, and we refused: the
    /// policy is `reject`, or the target is not on the allow-list.
    TransferRefused {
        /// Call handle.
        call: CallId,
        /// Whom it asked us to call.
        target: String,
        /// Why, in words.
        reason: String,
    },
    /// We are being transferred: the peer of `call` asked us to call
    /// `target`, and `new_call` does.
    Transferred {
        /// The call the request came in.
        call: CallId,
        /// Our new call to the target.
        new_call: CallId,
        /// The target.
        target: String,
    },
    /// An incoming call replaced one of ours (attended transfer to us):
    /// `new` is answered, `old` ends.
    Replaced {
        /// The call that ends.
        old: CallId,
        /// The call that takes its place.
        new: CallId,
        /// The new call's SIP Call-ID.
        call_id: String,
        /// The new INVITE's header fields (who is on the line now).
        headers: Vec<(String, String)>,
    },
    /// Audio levels of a call for meters: the loudest 20 ms frame of each
    /// direction since the last report, RMS in dBFS (−120 is silence).
    Levels {
        /// Call handle.
        call: CallId,
        /// What the microphone sends.
        mic_dbfs: f32,
        /// What the speaker plays.
        speaker_dbfs: f32,
    },
    /// A call's file microphone has played to its end (silence follows).
    MicEnded {
        /// Call handle.
        call: CallId,
    },
    /// The sound devices there are (answer to `ListDevices`).
    Devices {
        /// Devices that record.
        inputs: Vec<String>,
        /// Devices that play.
        outputs: Vec<String>,
    },
    /// The headset test's microphone level (RMS of the loudest 20 ms frame in
    /// the last 100 ms, dBFS) and the devices it runs on.
    MicTest {
        /// Level in dBFS (−120 is silence).
        mic_dbfs: f32,
        /// The microphone's name.
        input: String,
        /// The speaker's name.
        output: String,
    },
    /// The call's sound card changed: lost (headset unplugged) and replaced by
    /// the default device, or restored. The call goes on either way.
    AudioDevice {
        /// The call (none for the ringer and the headset test).
        #[serde(skip_serializing_if = "Option::is_none")]
        call: Option<CallId>,
        /// What happened, for the operator.
        message: String,
    },
    /// Live call quality, every few seconds while a call has media (when the
    /// engine is configured to report it).
    Quality {
        /// Call handle.
        call: CallId,
        /// Statistics so far.
        stats: MediaStats,
        /// Loss over the call so far, percent.
        loss_percent: f64,
        /// MOS estimate (E-model from codec, loss and delay).
        mos: f64,
    },
    /// A DTMF key arrived from the peer.
    Dtmf {
        /// Call handle.
        call: CallId,
        /// The key.
        digit: String,
    },
    /// The call is over.
    Ended {
        /// Call handle.
        call: CallId,
        /// SIP Call-ID.
        call_id: String,
        /// Why (`local_hangup`, `remote_hangup`, `cancelled`, `rejected`,
        /// `timeout` …: [`EndReason::as_str`]).
        #[serde(serialize_with = "end_reason")]
        reason: EndReason,
        /// The final status, where one ended it.
        status: Option<u16>,
        /// Media statistics.
        stats: MediaStats,
        /// How many calls are left (a wrapper that placed one call knows
        /// when it is done, a transferred caller's new call included).
        calls_left: usize,
    },
    /// A peer never acknowledged our refusal of its call (RFC 3261 Timer H):
    /// a broken or overloaded client, which may still think the call rings.
    AckMissing {
        /// The refused call, if it got a handle.
        #[serde(skip_serializing_if = "Option::is_none")]
        call: Option<CallId>,
        /// The peer.
        peer: String,
    },
    /// What a watched line's busy lamp shows now (it changed).
    Presence {
        /// The line, as `Watch` named it.
        target: String,
        /// `idle`, `ringing` or `busy` (on the phone).
        state: &'static str,
    },
    /// A watched line's lamp is not known: the subscription failed or a
    /// NOTIFY was unusable.
    PresenceFailed {
        /// The line, as `Watch` named it.
        target: String,
        /// The PBX's status, if one came.
        status: Option<u16>,
        /// Why.
        reason: String,
        /// Seconds until it is tried again; absent: never (the PBX refused
        /// it, e.g. 489 or 403); 0: the subscription stays, only this
        /// NOTIFY could not be read.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_in_s: Option<u64>,
    },
    /// A received message was refused before reaching a transaction.
    MessageRejected {
        /// Where from.
        source: String,
        /// What we answered, if anything.
        status: Option<u16>,
        /// What was wrong.
        error: String,
    },
    /// A command could not be carried out.
    CommandFailed {
        /// The command, in its CLI spelling (`hold 3`, `call sip:…`), or
        /// the step that failed (`media 3`, `re-offer on call 3`).
        command: String,
        /// Why.
        #[serde(serialize_with = "display")]
        error: CommandError,
    },
    /// The engine stopped (after `Shutdown`).
    Stopped,
}

impl EngineEvent {
    /// Stamps an event with the current wall-clock time.
    pub fn now(kind: EventKind) -> EngineEvent {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        EngineEvent { ts, kind }
    }

    /// One JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!("{{\"event\":\"error\",\"error\":\"{e}\"}}"))
    }
}

fn end_reason<S: Serializer>(r: &EndReason, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.as_str())
}

fn display<S: Serializer>(e: &CommandError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(e)
}
