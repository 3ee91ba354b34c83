//! Who a request comes from, for what is counted per client address: the anonymous rate
//! limit and the event streams a client may hold.
//!
//! Behind a reverse proxy every request arrives from the proxy: counted by that address,
//! all anonymous clients shared one budget and one was enough to have everyone refused.
//! With `--trusted-proxy` naming the proxies' networks, a request from one of them comes
//! from the address they give in `X-Forwarded-For`, read from the right (the hop nearest
//! riposte) past every trusted address: the entries further left are written by the client
//! and prove nothing. A request from anywhere else is its peer's, whatever it sends.
//!
//! An IPv6 client is counted by its /64: a host's interface usually holds a whole /64 and
//! could take a new address per request.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Reads `--trusted-proxy` values: networks (`10.0.0.0/8`) or single addresses.
    pub fn parse(values: &[String]) -> Result<Self, String> {
        values
            .iter()
            .map(|v| {
                let v = v.trim();
                v.parse::<IpNet>()
                    .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "--trusted-proxy `{v}` is neither a network (`10.0.0.0/8`, \
                             `fd00::/8`) nor an address"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` with `headers`, as counted (see the module).
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut addr = canonical(peer?);
        if self.trusts(addr) {
            // Every line of the header, in order, as one list (RFC 9110 5.3).
            let hops: Vec<&str> = headers
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect();
            for hop in hops.into_iter().rev() {
                // Unreadable: nothing further left can be placed; the last hop read stands.
                let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                    break;
                };
                addr = canonical(ip);
                if !self.trusts(addr) {
                    break;
                }
            }
        }
        Some(counted(addr))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// IPv6 addresses by their /64.
fn counted(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(line).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.7".into()]).unwrap();
        let none = TrustedProxies::default();
        let h = headers(&["198.51.100.1, 203.0.113.5", "10.1.1.1"]);
        // The rightmost hop not trusted; the client's own claim (198.51.100.1) is not read.
        assert_eq!(trusted.client(ip("10.0.0.2"), &h), ip("203.0.113.5"));
        assert_eq!(trusted.client(ip("192.0.2.7"), &h), ip("203.0.113.5"));
        // From an untrusted peer, or with nothing trusted, the header is ignored.
        assert_eq!(trusted.client(ip("192.0.2.8"), &h), ip("192.0.2.8"));
        assert_eq!(none.client(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        // Nothing forwarded, or garbage: the nearest readable hop.
        assert_eq!(
            trusted.client(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        let junk = headers(&["203.0.113.9, unknown, 10.2.2.2"]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &junk), ip("10.2.2.2"));
        // IPv6 by its /64, mapped IPv4 as IPv4.
        assert_eq!(
            none.client(ip("2001:db8:1:2:aaaa::1"), &HeaderMap::new()),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            none.client(ip("::ffff:192.0.2.1"), &HeaderMap::new()),
            ip("192.0.2.1")
        );
        assert!(TrustedProxies::parse(&["nonsense".into()]).is_err());
        assert_eq!(none.client(None, &h), None);
    }
}
