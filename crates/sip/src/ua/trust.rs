//! Who may reach the desk: trusted source addresses as CIDR blocks.
//!
//! A registered softphone only ever gets new calls through its registrar or
//! outbound proxy; an INVITE straight from elsewhere on the internet is a
//! scanner or a toll-fraud bot (they look for UAs that answer). With
//! [`super::Config::trusted`] set, a request outside a dialog from an
//! address outside every block is refused with 403 before it can ring, and
//! P-Asserted-Identity is believed only from inside them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block: `192.0.2.0/24`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a block does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an address or an address block (ADDRESS/PREFIX)",
            self.0
        )
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// One address.
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
        }
    }

    /// Whether `ip` is inside the block (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError(s.to_owned());
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether `ip` is trusted under `trusted` (see [`super::Config::trusted`]):
/// for requests, `None` trusts everyone; for asserted identities, `None`
/// trusts only this machine.
pub(super) fn admits(trusted: Option<&[Cidr]>, ip: IpAddr) -> bool {
    trusted.is_none_or(|t| t.iter().any(|c| c.contains(ip)))
}

pub(super) fn vouches(trusted: Option<&[Cidr]>, ip: IpAddr) -> bool {
    match trusted {
        Some(t) => t.iter().any(|c| c.contains(ip)),
        None => ip.is_loopback() || ip.to_canonical().is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_contain_their_addresses_only() {
        let net: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains(ip("192.0.2.200")));
        assert!(net.contains(ip("::ffff:192.0.2.7")));
        assert!(!net.contains(ip("192.0.3.1")));
        assert!(!net.contains(ip("2001:db8::1")));
        let one: Cidr = "127.0.0.2".parse().unwrap();
        assert!(one.contains(ip("127.0.0.2")) && !one.contains(ip("127.0.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert_eq!(v6.to_string(), "2001:db8::/32");
    }

    #[test]
    fn nonsense_is_refused_with_the_text() {
        for bad in ["", "pbx.example.com", "10.0.0.0/33", "::/129", "10.0.0.0/x"] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn without_a_list_requests_come_from_anywhere_but_only_this_machine_vouches() {
        assert!(admits(None, ip("203.0.113.9")));
        assert!(!vouches(None, ip("203.0.113.9")));
        assert!(vouches(None, ip("127.0.0.1")));
        let list = ["198.51.100.10".parse::<Cidr>().unwrap()];
        assert!(!admits(Some(&list), ip("127.0.0.1")));
        assert!(vouches(Some(&list), ip("198.51.100.10")));
        assert!(!vouches(Some(&list), ip("127.0.0.1")));
    }
}
