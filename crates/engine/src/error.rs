//! Why a command could not be carried out. Each variant says whose doing it
//! was: the caller's (no such call, a bad target), the call's state, the
//! network (a name that does not resolve), or this machine (no port).

use std::fmt;

use switchboard_media::offer_answer::NegotiationError;
use switchboard_media::sdp::SdpError;
use switchboard_sip::ua::UaError;

/// What was wrong with a session description.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdpProblem {
    /// The peer's SDP does not parse.
    Unreadable(SdpError),
    /// It parses, but offer/answer cannot use it (no codec in common …).
    Unusable(NegotiationError),
    /// The call came up with nothing agreed.
    Missing,
}

impl fmt::Display for SdpProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpProblem::Unreadable(e) => write!(f, "unreadable SDP: {e}"),
            SdpProblem::Unusable(e) => write!(f, "{e}"),
            SdpProblem::Missing => write!(f, "no session description was agreed"),
        }
    }
}

impl From<SdpError> for SdpProblem {
    fn from(e: SdpError) -> Self {
        SdpProblem::Unreadable(e)
    }
}

impl From<NegotiationError> for SdpProblem {
    fn from(e: NegotiationError) -> Self {
        SdpProblem::Unusable(e)
    }
}

/// A command that could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// No call with this handle (it may have just ended).
    NoSuchCall,
    /// The call has no media yet (hold, mute, keypad, a conference need it).
    NoMedia,
    /// The target is neither a SIP URI nor a number.
    BadTarget(String),
    /// A bare number, but no registrar and no peer to dial it at.
    NoPeerForNumber,
    /// The host name did not resolve.
    Resolve {
        /// The host.
        host: String,
        /// The resolver's words.
        error: String,
    },
    /// No RTP port could be bound on this machine.
    NoRtpPort(std::io::ErrorKind),
    /// The SIP layer refused (the call's state, the call limit …).
    Sip(UaError),
    /// The peer's session description could not be used.
    Sdp(SdpProblem),
    /// The peer refused our re-offer with this status.
    Refused(u16),
    /// Not a consultation call.
    NotConsultation,
    /// The consultation call is not up.
    ConsultNotUp,
    /// No transfer request waits on this call.
    NoTransferRequest,
    /// A conference needs two different calls.
    ConferenceNeedsTwo,
    /// The call is in a conference already.
    InConference,
    /// No account is configured.
    NoAccount,
    /// The media pump could not start or went wrong (its words).
    Media(String),
    /// A command line without a call to act on (none is up or ringing).
    NoCall,
    /// A command line with the wrong arguments: how to write it.
    Usage(&'static str),
    /// A command line whose verb is not a command.
    UnknownCommand(String),
    /// The target asks for TLS (`sips:`, `;transport=tls`) and the way to
    /// it is not encrypted: never sent in clear instead.
    NeedsTls(String),
    /// SRTP is mandatory and this call's signalling is not TLS (its keys
    /// would travel in clear).
    SrtpNeedsTls(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::NoSuchCall => write!(f, "no such call"),
            CommandError::NoMedia => write!(f, "the call has no media yet"),
            CommandError::BadTarget(t) => write!(f, "bad target {t:?}: not a SIP URI or a number"),
            CommandError::NoPeerForNumber => write!(f, "no peer to dial the number at"),
            CommandError::Resolve { host, error } => write!(f, "cannot resolve {host}: {error}"),
            CommandError::NoRtpPort(e) => write!(f, "no RTP port: {e}"),
            CommandError::Sip(e) => write!(f, "{e}"),
            CommandError::Sdp(e) => write!(f, "unusable session description: {e}"),
            CommandError::Refused(s) => write!(f, "the peer refused with {s}"),
            CommandError::NotConsultation => write!(f, "not a consultation call"),
            CommandError::ConsultNotUp => write!(f, "the consultation call is not up"),
            CommandError::NoTransferRequest => write!(f, "no transfer request on this call"),
            CommandError::ConferenceNeedsTwo => write!(f, "a conference needs two calls"),
            CommandError::InConference => write!(f, "the call is already in a conference"),
            CommandError::NoAccount => write!(f, "no account is configured"),
            CommandError::Media(e) => write!(f, "{e}"),
            CommandError::NoCall => write!(f, "no call to act on"),
            CommandError::Usage(u) => write!(f, "usage: {u}"),
            CommandError::UnknownCommand(_) => write!(f, "unknown command"),
            CommandError::SrtpNeedsTls(t) => write!(
                f,
                "encrypted media is mandatory and the call to {t} is not over TLS"
            ),
            CommandError::NeedsTls(t) => write!(
                f,
                "{t} needs TLS, and the registrar is not reached over TLS: not sent in clear"
            ),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<SdpProblem> for CommandError {
    fn from(e: SdpProblem) -> Self {
        CommandError::Sdp(e)
    }
}

impl From<UaError> for CommandError {
    fn from(e: UaError) -> Self {
        match e {
            UaError::UnknownCall => CommandError::NoSuchCall,
            e => CommandError::Sip(e),
        }
    }
}
