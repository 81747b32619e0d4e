//! Locating SIP servers (RFC 3263) off the engine's thread of control:
//! NAPTR, then SRV, then A/AAAA, with hickory's resolver (which caches every
//! answer for its TTL).
//!
//! For `host` with transport `t` and no port:
//! 1. the host is an address: that address, the transport's default port;
//! 2. with no transport said in the URI, NAPTR picks one we speak
//!    (`SIPS+D2T` TLS, `SIP+D2T` TCP, `SIP+D2U` UDP, by order and
//!    preference) and names the SRV domain;
//! 3. SRV `_sip._udp`, `_sip._tcp` or `_sips._tcp`: the targets by priority,
//!    then weight (heaviest first; RFC 2782's weighted draw would need
//!    randomness here for no gain between two or three PBXs), each target's
//!    addresses in turn;
//! 4. no SRV: the host's addresses on the default port.
//!
//! With a port (`sip:pbx.example.com:5070`) only A/AAAA are asked (§4.2).
//! The answer is every target in order: the phone uses the first and moves
//! to the next when one does not answer or says 503.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use switchboard_sip::ua::Transport;

/// Where to look names up: the system's resolver, or one DNS server (a
/// company's own, or a test's).
pub(super) fn resolver(server: Option<SocketAddr>) -> Result<TokioResolver, String> {
    let builder = match server {
        Some(at) => {
            let ns = NameServerConfig::new(
                at.ip(),
                true,
                vec![{
                    let mut c = ConnectionConfig::new(ProtocolConfig::Udp);
                    c.port = at.port();
                    c
                }],
            );
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
    };
    builder
        .build()
        .map_err(|e| format!("cannot start the DNS resolver: {e}"))
}

/// The SRV service names for a transport.
fn srv_prefix(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "_sip._udp",
        Transport::Tcp => "_sip._tcp",
        Transport::Tls => "_sips._tcp",
    }
}

/// Every target for `host`, in the order to try them.
pub(super) async fn locate(
    resolver: &TokioResolver,
    host: &str,
    transport: Transport,
    port: Option<u16>,
    transport_given: bool,
) -> Result<Vec<(Transport, SocketAddr)>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![(
            transport,
            SocketAddr::new(ip, port.unwrap_or(transport.default_port())),
        )]);
    }
    if let Some(port) = port {
        return addresses(resolver, host, port)
            .await
            .map(|a| a.into_iter().map(|a| (transport, a)).collect());
    }
    let mut transport = transport;
    let mut srv_name = format!("{}.{host}", srv_prefix(transport));
    if !transport_given && let Some((t, name)) = naptr(resolver, host).await {
        transport = t;
        srv_name = name;
    }
    let mut targets = Vec::new();
    if let Ok(found) = resolver.lookup(srv_name.as_str(), RecordType::SRV).await {
        let mut srv: Vec<_> = found
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        srv.sort_by_key(|s| (s.priority, std::cmp::Reverse(s.weight)));
        for s in srv {
            let target = s.target.to_string();
            if let Ok(addrs) = addresses(resolver, target.trim_end_matches('.'), s.port).await {
                targets.extend(addrs.into_iter().map(|a| (transport, a)));
            }
        }
        if !targets.is_empty() {
            return Ok(targets);
        }
    }
    addresses(resolver, host, transport.default_port())
        .await
        .map(|a| a.into_iter().map(|a| (transport, a)).collect())
}

/// The transport and SRV domain NAPTR names for `host` (RFC 3263 §4.1), if any.
async fn naptr(resolver: &TokioResolver, host: &str) -> Option<(Transport, String)> {
    let found = resolver.lookup(host, RecordType::NAPTR).await.ok()?;
    let mut records: Vec<_> = found
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::NAPTR(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    records.sort_by_key(|n| (n.order, n.preference));
    records.into_iter().find_map(|n| {
        let service = String::from_utf8_lossy(&n.services).to_ascii_uppercase();
        let transport = match service.as_str() {
            "SIPS+D2T" => Transport::Tls,
            "SIP+D2T" => Transport::Tcp,
            "SIP+D2U" => Transport::Udp,
            _ => return None,
        };
        let flags = String::from_utf8_lossy(&n.flags).to_ascii_lowercase();
        (flags == "s").then(|| {
            (
                transport,
                n.replacement.to_string().trim_end_matches('.').to_owned(),
            )
        })
    })
}

/// The addresses of `host` on `port`, IPv4 first.
async fn addresses(
    resolver: &TokioResolver,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, String> {
    let found = resolver
        .lookup_ip(host)
        .await
        .map_err(|e| format!("{host}: {e}"))?;
    let mut addrs: Vec<SocketAddr> = found.iter().map(|ip| SocketAddr::new(ip, port)).collect();
    addrs.sort_by_key(|a| a.is_ipv6());
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    Ok(addrs)
}
