//! Where deliveries may go. Without `--webhook-allow-private`, a delivery never reaches
//! loopback, private, link-local, unique-local, shared, multicast, reserved or unspecified
//! addresses (an API caller could otherwise make the server probe its own network). Names are
//! resolved by `GuardedResolver`, which drops such addresses, and the connection goes to an
//! address it returned: a name that resolves to something else the second time (DNS
//! rebinding) cannot get past it. URLs holding an IP address are checked by `check_url`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::limits::MAX_URL_LEN;

/// Why deliveries may not go to `ip`, if they may not.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address",
        _ if ip.is_multicast() => "a multicast address",
        _ if ip.is_broadcast() => "the broadcast address",
        (0, _, _) => "an unspecified address",
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    })
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address inside IPv6 (mapped, or NAT64) reaches that IPv4 host.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refusal_v4(v4).or(Some("an IPv4-mapped address"));
    }
    let s = ip.segments();
    Some(match s[0] {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        0x0064 if s[1] == 0xff9b => "a NAT64 address",
        0 if s[1..6] == [0; 5] => "an IPv4-compatible address",
        x if x & 0xfe00 == 0xfc00 => "a unique-local address",
        x if x & 0xffc0 == 0xfe80 => "a link-local address",
        x if x & 0xffc0 == 0xfec0 => "a site-local address",
        x if x & 0xff00 == 0xff00 => "a multicast address",
        0x2001 if s[1] == 0x0db8 => "a documentation address",
        0x3fff if s[1] & 0xf000 == 0 => "a documentation address",
        0x5f00 => "a segment-routing (SRv6) address",
        // Tunnels to IPv4 hosts the address embeds, internal ones too: 6to4 (deprecated by
        // RFC 7526) and Teredo, which is within the IETF protocol block 2001::/23.
        0x2002 => "a 6to4 address",
        0x2001 if s[1] == 0 => "a Teredo address",
        0x2001 if s[1] < 0x0200 => "an IETF protocol address",
        0x0100 if s[1..4] == [0; 3] => "a discard-only address",
        _ => return None,
    })
}

/// The message for a refused address.
pub fn refused(ip: IpAddr, why: &str) -> String {
    format!(
        "{ip} is {why}; deliveries to internal networks are refused unless the server runs \
         with --webhook-allow-private"
    )
}

/// Checks a subscription's URL: the rule every URL riposte stores keeps
/// (`input::url_fault`: http(s) with a host, at most `MAX_URL_LEN` characters, no
/// spaces or control characters, readable as browsers and HTTP clients read it), and no user
/// name or password, and no internal IP address unless `allow_private`.
pub fn check_url(text: &str, allow_private: bool) -> Result<Url, String> {
    if let Some(fault) = crate::input::url_fault(text) {
        return Err(format!(
            "must be an http(s) URL of at most {MAX_URL_LEN} characters: {fault}"
        ));
    }
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    // `http://@host/` parses with an empty user name; refused too, as the URL is stored as
    // given.
    let authority = text
        .split_once(':')
        .map_or("", |(_, rest)| rest.trim_start_matches(['/', '\\']))
        .split(['/', '\\', '?', '#'])
        .next()
        .unwrap_or("");
    if !url.username().is_empty() || url.password().is_some() || authority.contains('@') {
        return Err("must not hold a user name or password".into());
    }
    let host = url.host_str().ok_or("must name a host")?;
    // The URL parser writes IPv4 addresses in any form (`2130706433`) dotted, IPv6 bracketed.
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(url);
    };
    match refusal(ip).filter(|_| !allow_private) {
        Some(why) => Err(refused(ip, why)),
        None => Ok(url),
    }
}

/// Resolves names with the system's resolver, keeping only addresses deliveries may go to.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused_one = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match refusal(a.ip()).filter(|_| !allow_private) {
                    Some(why) => {
                        refused_one.get_or_insert_with(|| refused(a.ip(), why));
                        false
                    }
                    None => true,
                })
                .collect();
            if allowed.is_empty() {
                let why = refused_one.unwrap_or_else(|| format!("`{host}` has no address"));
                return Err(format!("{host}: {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_ip(text: &str) -> bool {
        refusal(text.parse().unwrap()).is_some()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:10::1",
            "100::1",
            "3fff::1",
            "3fff:fff::1",
            "5f00::1",
        ] {
            assert!(refused_ip(ip), "{ip} should be refused");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2a00:1450::1",
            "3fff:1000::1",
            "2001:200::1",
        ] {
            assert!(!refused_ip(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://example.com/hook", false).is_ok());
        assert!(check_url("https://example.com/a@b?c=@#@", false).is_ok());
        for bad in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://@example.com/",
            "https://:@example.com/",
            "https:\\\\@example.com/",
            "http://[2002:7f00:1::]/",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "not a url",
            "https://example.com/a\u{0}b",
            "https://example.com/a\tb",
            "https://example.com/a\nb",
            "https://example.com:0/",
            "https://example.com/a b",
            "https:///nohost",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad} should be refused");
        }
        assert!(check_url("http://127.0.0.1:8080/", true).is_ok());
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(2000)), true).is_err());
        // Characters, not bytes: 1,900 of `é` are 3,800 bytes.
        assert!(check_url(&format!("https://e.com/{}", "é".repeat(1900)), true).is_ok());
    }
}
