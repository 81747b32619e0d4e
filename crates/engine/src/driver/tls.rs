//! SIP over TLS (RFC 3261 §26.2, RFC 5630), the client side: rustls with the
//! ring provider, the system's roots plus an optional CA file, and the peer's
//! name checked against its certificate.
//!
//! - The name checked is the host the driver resolved for that address (a
//!   registrar given as `sips:pbx.example.com`), else the address itself (a
//!   certificate for an IP literal must name that IP).
//! - A connection is opened from our SIP port (SO_REUSEPORT beside our
//!   listener), so the address a PBX sees it come from is the one in our
//!   Contact: requests for us (a call through the registrar) come back on
//!   it; we serve no TLS ourselves.
//! - A handshake that fails (unknown issuer, wrong name, expired, no TLS
//!   at all) closes the connection with the reason in words, which fails
//!   what was waiting for it (`registration_failed`, a call's 503) at once.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The client configuration: roots from the system and `ca_file`.
/// `Err` names what could not be read (a configuration error at start).
pub(super) fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped (a machine may have none);
    // the CA file, when given, must load.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("tls CA file {}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("tls CA file {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "tls CA file {}: no PEM certificate in it",
                path.display()
            ));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("tls CA file {}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The server configuration from a certificate chain and its private key
/// (PEM files): peers that open TLS to our SIP port (a phone calling us
/// directly over TLS) are served with it. `Err` names the file at fault.
pub(super) fn server_config(
    certificate: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::PrivateKeyDer;
    let chain = CertificateDer::pem_file_iter(certificate)
        .map_err(|e| format!("tls certificate {}: {e}", certificate.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls certificate {}: {e}", certificate.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "tls certificate {}: no PEM certificate in it",
            certificate.display()
        ));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map(Arc::new)
        .map_err(|e| format!("tls certificate {}: {e}", certificate.display()))
}

/// Whether the first bytes a peer sent on our TCP port open a TLS
/// handshake (a record of type 22, handshake): then it is served as TLS.
pub(super) fn is_client_hello(first: &[u8]) -> bool {
    first.first() == Some(&0x16)
}

/// Connects to `peer` from `local` (our SIP address; an ephemeral port if
/// that cannot be shared) and completes the handshake, checking `name`.
pub(super) async fn connect(
    config: Arc<rustls::ClientConfig>,
    local: SocketAddr,
    peer: SocketAddr,
    name: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let server_name = ServerName::try_from(name.to_owned()).map_err(|_| {
        format!("{name:?} is not a host name or address to check a certificate against")
    })?;
    let tcp = match bound_socket(local) {
        Some(s) => s.connect(peer).await,
        None => TcpStream::connect(peer).await,
    }
    .map_err(|e| format!("cannot connect to {peer}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| format!("TLS with {name} ({peer}) failed: {}", describe(&e)))
}

/// A socket bound to our SIP address beside the listener, or `None`.
fn bound_socket(local: SocketAddr) -> Option<tokio::net::TcpSocket> {
    let s = if local.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .ok()?;
    s.set_reuseaddr(true).ok()?;
    s.set_reuseport(true).ok()?;
    s.bind(local).ok()?;
    Some(s)
}

/// A handshake error as an operator can act on it.
fn describe(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => {
            use rustls::CertificateError as C;
            match c {
                C::UnknownIssuer => {
                    "certificate not trusted (unknown issuer: add its CA as sip.tls_ca_file)"
                        .to_owned()
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "certificate is for another host name".to_owned()
                }
                C::Expired | C::ExpiredContext { .. } => "certificate expired".to_owned(),
                other => format!("bad certificate: {other:?}"),
            }
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("sb-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let e = client_config(Some(&missing)).unwrap_err();
        assert!(e.contains("missing.pem"), "{e}");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(Some(&empty)).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
        assert!(client_config(None).is_ok(), "the system roots alone");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
