//! Addresses: [`ToSocketAddrs`] (what `connect` and `bind` accept) and [`lookup_host`]
//! (DNS on the blocking pool).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What the runtime's `connect`, `bind` and [`lookup_host`] accept: a `SocketAddr`, an
/// `(ip, port)` pair, a `"host:port"` string, a `(host, port)` pair, or a slice of
/// addresses. Numeric addresses are parsed in place; host names are resolved by the
/// system resolver on the blocking pool, so the loop never waits for DNS.
///
/// The trait is sealed: its one method is private to the runtime.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::Addrs;

    /// The private half of [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait Sealed {
        /// Either the addresses themselves or a name to resolve.
        fn to_addrs(&self) -> Addrs;
    }
}

use sealed::Sealed;

/// Addresses, or a `host:port` string that needs the resolver.
#[derive(Debug)]
pub enum Addrs {
    /// Already numeric.
    Ready(Vec<SocketAddr>),
    /// Needs DNS.
    Lookup(String),
}

impl Addrs {
    /// Resolves synchronously (for `bind`, which is not async).
    pub(crate) fn resolve_blocking(self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Addrs::Ready(v) => Ok(v),
            Addrs::Lookup(name) => {
                std::net::ToSocketAddrs::to_socket_addrs(&name[..]).map(Iterator::collect)
            }
        }
    }

    /// Resolves, running the system resolver on the blocking pool for names.
    pub(crate) async fn resolve(self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Addrs::Ready(v) => Ok(v),
            Addrs::Lookup(name) => crate::run_in_executor(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&name[..]).map(Iterator::collect)
            })
            .await
            .map_err(io::Error::other)?,
        }
    }
}

macro_rules! numeric {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl Sealed for $t {
            fn to_addrs(&self) -> Addrs {
                Addrs::Ready(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

numeric!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_addrs(&self) -> Addrs {
        match self.parse::<SocketAddr>() {
            Ok(a) => Addrs::Ready(vec![a]),
            Err(_) => Addrs::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Addrs::Ready(vec![SocketAddr::new(ip, port)]),
            Err(_) => Addrs::Lookup(format!("{host}:{port}")),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        (self.0.as_str(), self.1).to_addrs()
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_addrs(&self) -> Addrs {
        self.as_str().to_addrs()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> Sealed for [SocketAddr; N] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl Sealed for Vec<SocketAddr> {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.clone())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }
}

/// Resolves `host` (such as `"example.com:80"` or `("localhost", 8080)`) to socket
/// addresses with the system resolver, on the blocking pool (asyncio's
/// `loop.getaddrinfo`). Numeric addresses come back without a lookup.
///
/// # Errors
///
/// The resolver's error (e.g. an unknown host), or `InvalidInput` for a string without a
/// port.
///
/// # Examples
///
/// ```
/// runtime::run(async {
///     let addrs: Vec<_> = runtime::net::lookup_host("localhost:8080").await.unwrap().collect();
///     assert!(addrs.iter().all(|a| a.port() == 8080 && a.ip().is_loopback()));
/// });
/// ```
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(host.to_addrs().resolve().await?.into_iter())
}

/// The error for an empty address list.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "no addresses to try")
}
