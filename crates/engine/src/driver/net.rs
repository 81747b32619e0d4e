//! The driver's sockets: SIP over TCP (one task per connection, framed by
//! [`StreamFramer`]), the RTP port pairs, the address to advertise.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdp};
use std::time::Duration;

use std::sync::Arc;

use switchboard_sip::message::Limits;
use switchboard_sip::stream::{Frame, StreamFramer};
use switchboard_sip::ua::Transport;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Keep-alive interval on TCP connections we opened (RFC 5626 §4.4.1 CRLF pings).
const KEEPALIVE: Duration = Duration::from_secs(30);

/// Messages queued for one connection; a peer that does not read what we
/// send (its window closed) and lets this fill is dropped.
const CONNECTION_BACKLOG: usize = 256;

/// At most this many stream connections at once (ours and the peers');
/// one more that a peer opens is closed at once.
pub(super) const MAX_CONNECTIONS: usize = 256;

/// A connection a peer opened that carries nothing (not even a CRLF
/// keep-alive) for this long is closed: a PBX pings well within it.
const IDLE: Duration = Duration::from_secs(120);

/// A message whose header block has begun must be complete within this
/// long (a slow-loris peer trickling bytes holds no connection open).
const HEADER_BLOCK: Duration = Duration::from_secs(10);

/// What a TCP or TLS connection task reports.
pub(super) enum TcpIn {
    Frame(Transport, SocketAddr, Vec<u8>),
    /// The connection is gone; `error` when it never came up (refused,
    /// timed out, a failed handshake) or broke: what waited for it fails.
    Closed {
        transport: Transport,
        peer: SocketAddr,
        error: Option<String>,
    },
}

/// The address to advertise when bound to the unspecified address: the local
/// address the kernel would use towards `peer` (the registrar), else towards the
/// default route, else loopback. Connecting a UDP socket only looks the route up;
/// it sends nothing (the documentation prefixes of RFC 5737/3849 stand for "anywhere").
pub(super) fn advertised_for(bind: SocketAddr, peer: Option<SocketAddr>) -> SocketAddr {
    if !bind.ip().is_unspecified() {
        return bind;
    }
    let anywhere: SocketAddr = if bind.is_ipv4() {
        SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 5060))
    } else {
        SocketAddr::from((
            std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            5060,
        ))
    };
    let route = |p: SocketAddr| route_to(bind.ip(), p);
    let loopback = if bind.is_ipv4() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
    };
    let ip = peer
        .and_then(route)
        .or_else(|| route(anywhere))
        .unwrap_or(loopback);
    SocketAddr::new(ip, bind.port())
}

/// The local address the kernel would send from towards `peer`, or `None`
/// when there is no route (the link is down, the network gone). Connecting
/// a UDP socket only looks the route up; nothing is sent.
pub(super) fn route_to(bind: IpAddr, peer: SocketAddr) -> Option<IpAddr> {
    let s = StdUdp::bind(SocketAddr::new(bind, 0)).ok()?;
    s.connect(peer).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// A send error that means no way there at all, not a lost packet.
pub(super) fn is_unreachable(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::NetworkUnreachable | K::HostUnreachable | K::NetworkDown
    )
}

/// The SIP sockets: UDP and TCP on one port. With port 0 the kernel picks
/// a UDP port, whose TCP twin may be taken (an outgoing connection's
/// ephemeral port): then another is picked, a few times over.
pub(super) fn bind_sip(
    bind: SocketAddr,
) -> Result<(StdUdp, std::net::TcpListener, SocketAddr), crate::EngineError> {
    use crate::EngineError::Bind;
    let tries = if bind.port() == 0 { 32 } else { 1 };
    let mut last = None;
    for _ in 0..tries {
        let udp = StdUdp::bind(bind).map_err(|e| Bind(bind, e))?;
        let local = udp.local_addr().map_err(|e| Bind(bind, e))?;
        match tcp_listener(local) {
            Ok(tcp) => return Ok((udp, tcp, local)),
            Err(e) => last = Some(Bind(local, e)),
        }
    }
    Err(last.unwrap_or_else(|| Bind(bind, std::io::ErrorKind::AddrInUse.into())))
}

/// The TCP listener, with SO_REUSEPORT so that our TLS connections can
/// leave from the same port (see `tls`).
fn tcp_listener(local: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(
        Domain::for_address(local),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.bind(&local.into())?;
    s.listen(128)?;
    Ok(s.into())
}

/// An even RTP port and the RTCP port above it (RFC 3550 §11).
pub(super) fn bind_rtp_pair(ip: IpAddr) -> std::io::Result<(StdUdp, StdUdp)> {
    let mut last = None;
    for _ in 0..32 {
        let rtp = bind_rtp(ip)?;
        let port = rtp.local_addr()?.port();
        match StdUdp::bind(SocketAddr::new(ip, port.wrapping_add(1))) {
            Ok(rtcp) => return Ok((rtp, rtcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into()))
}

fn bind_rtp(ip: IpAddr) -> std::io::Result<StdUdp> {
    // RTP ports are even (RFC 3550 §11); a few tries find one.
    let mut last = None;
    for _ in 0..16 {
        let s = StdUdp::bind(SocketAddr::new(ip, 0))?;
        if s.local_addr()?.port() % 2 == 0 {
            return Ok(s);
        }
        last = Some(s);
    }
    last.ok_or_else(|| std::io::ErrorKind::AddrNotAvailable.into())
}

/// Opens a connection to `peer` for what we send there: TCP, or TLS
/// (with `tls`: the client configuration, our address, the name to check).
pub(super) fn spawn_outbound(
    peer: SocketAddr,
    tls: Option<(Arc<rustls::ClientConfig>, SocketAddr, String)>,
    tcp_tx: mpsc::Sender<TcpIn>,
) -> mpsc::Sender<Vec<u8>> {
    let (tx, rx) = mpsc::channel(CONNECTION_BACKLOG);
    tokio::spawn(async move {
        let timeout = Duration::from_secs(10);
        match tls {
            None => match tokio::time::timeout(timeout, TcpStream::connect(peer)).await {
                Ok(Ok(stream)) => {
                    connection(stream, Transport::Tcp, peer, rx, tcp_tx, true).await;
                }
                Ok(Err(e)) => {
                    closed(
                        &tcp_tx,
                        Transport::Tcp,
                        peer,
                        format!("cannot connect to {peer}: {e}"),
                    )
                    .await
                }
                Err(_) => {
                    closed(
                        &tcp_tx,
                        Transport::Tcp,
                        peer,
                        format!("no connection to {peer} in 10 s"),
                    )
                    .await
                }
            },
            Some((config, local, name)) => {
                match tokio::time::timeout(timeout, super::tls::connect(config, local, peer, &name))
                    .await
                {
                    Ok(Ok(stream)) => {
                        connection(stream, Transport::Tls, peer, rx, tcp_tx, true).await;
                    }
                    Ok(Err(e)) => closed(&tcp_tx, Transport::Tls, peer, e).await,
                    Err(_) => {
                        closed(
                            &tcp_tx,
                            Transport::Tls,
                            peer,
                            format!("no TLS connection to {name} ({peer}) in 10 s"),
                        )
                        .await
                    }
                }
            }
        }
    });
    tx
}

async fn closed(
    tcp_tx: &mpsc::Sender<TcpIn>,
    transport: Transport,
    peer: SocketAddr,
    error: String,
) {
    let _ = tcp_tx
        .send(TcpIn::Closed {
            transport,
            peer,
            error: Some(error),
        })
        .await;
}

/// Serves a connection a peer opened: TCP, or TLS when its first byte
/// opens a handshake and we have a certificate (one port for both, as our
/// Contact says). The first byte is waited for in the connection's own
/// task, never in the accept loop. Returns the sender for what we write.
pub(super) fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    tcp_tx: mpsc::Sender<TcpIn>,
) -> mpsc::Sender<Vec<u8>> {
    let (tx, rx) = mpsc::channel(CONNECTION_BACKLOG);
    tokio::spawn(async move {
        let Some(config) = tls else {
            return connection(stream, Transport::Tcp, peer, rx, tcp_tx, false).await;
        };
        // A TLS client speaks first (its ClientHello); a plain SIP peer's
        // first byte is a letter or a CRLF.
        let mut first = [0u8; 1];
        let peeked = tokio::time::timeout(IDLE, stream.peek(&mut first)).await;
        if !matches!(peeked, Ok(Ok(1))) || !super::tls::is_client_hello(&first) {
            return connection(stream, Transport::Tcp, peer, rx, tcp_tx, false).await;
        }
        let accept = tokio_rustls::TlsAcceptor::from(config).accept(stream);
        match tokio::time::timeout(HEADER_BLOCK, accept).await {
            Ok(Ok(s)) => connection(s, Transport::Tls, peer, rx, tcp_tx, false).await,
            Ok(Err(e)) => {
                closed(
                    &tcp_tx,
                    Transport::Tls,
                    peer,
                    format!("TLS from {peer} failed: {e}"),
                )
                .await
            }
            Err(_) => {
                closed(
                    &tcp_tx,
                    Transport::Tls,
                    peer,
                    format!("no TLS handshake from {peer}"),
                )
                .await
            }
        }
    });
    tx
}

/// One stream connection (TCP or TLS): frames what it reads, writes what
/// it is given, pings when it is ours. Closes on a framing error (no way to
/// resynchronise).
async fn connection<S: AsyncRead + AsyncWrite>(
    stream: S,
    transport: Transport,
    peer: SocketAddr,
    mut out: mpsc::Receiver<Vec<u8>>,
    tcp_tx: mpsc::Sender<TcpIn>,
    keepalive: bool,
) {
    let (mut r, mut w) = tokio::io::split(stream);
    let mut framer = StreamFramer::new(Limits::default());
    let mut buf = vec![0u8; 16_384];
    let mut ping = tokio::time::interval(KEEPALIVE);
    ping.tick().await;
    let mut error = None;
    let far = tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let mut last_read = tokio::time::Instant::now();
    let mut partial_since: Option<tokio::time::Instant> = None;
    'conn: loop {
        // Ours stay open (we ping them); a peer's closes when idle; any
        // closes when a started message does not complete.
        let idle_at = if keepalive { far } else { last_read + IDLE };
        let partial_at = partial_since.map_or(far, |t| t + HEADER_BLOCK);
        tokio::select! {
            _ = tokio::time::sleep_until(idle_at.min(partial_at)) => {
                error = Some(if partial_at <= idle_at {
                    format!("{peer} did not finish a message in {} s", HEADER_BLOCK.as_secs())
                } else {
                    format!("{peer} was idle for {} s", IDLE.as_secs())
                });
                break;
            }
            n = r.read(&mut buf) => {
                let n = match n {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => { error = Some(format!("connection to {peer} broke: {e}")); break }
                };
                last_read = tokio::time::Instant::now();
                framer.push(buf.get(..n).unwrap_or(&[]));
                let mut pongs_owed = false;
                let mut completed = false;
                while let Some(f) = framer.next_frame() {
                    match f {
                        Ok(Frame::Message(m)) => {
                            completed = true;
                            // Bounded: a peer that sends faster than the
                            // engine reads waits here (TCP backpressure).
                            if tcp_tx.send(TcpIn::Frame(transport, peer, m)).await.is_err() {
                                break 'conn;
                            }
                        }
                        // Every ping in what was read is answered once:
                        // a flood of CRLFs costs one write, not one each.
                        Ok(Frame::Ping) => pongs_owed = true,
                        Ok(Frame::Pong) => {}
                        Err(_) => break 'conn,
                    }
                }
                if pongs_owed && w.write_all(b"\r\n").await.is_err() {
                    break;
                }
                // The clock runs from when the message now buffered began:
                // a peer that keeps completing messages is never cut off.
                partial_since = match (framer.buffered(), partial_since) {
                    (0, _) => None,
                    (_, Some(t)) if !completed => Some(t),
                    _ => Some(last_read),
                };
            }
            m = out.recv() => match m {
                Some(m) => { if w.write_all(&m).await.is_err() { break; } }
                None => break,
            },
            _ = ping.tick(), if keepalive => {
                if w.write_all(b"\r\n\r\n").await.is_err() { break; }
            }
        }
    }
    let _ = tcp_tx
        .send(TcpIn::Closed {
            transport,
            peer,
            error,
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertises_a_concrete_address_never_the_unspecified_one() {
        let bound: SocketAddr = "127.0.0.1:5099".parse().unwrap();
        assert_eq!(advertised_for(bound, None), bound);
        let any: SocketAddr = "0.0.0.0:5098".parse().unwrap();
        let towards_loopback = advertised_for(any, Some("127.0.0.1:5060".parse().unwrap()));
        assert_eq!(towards_loopback, "127.0.0.1:5098".parse().unwrap());
        let no_peer = advertised_for(any, None);
        assert!(!no_peer.ip().is_unspecified(), "{no_peer}");
        assert_eq!(no_peer.port(), 5098);
    }
}
