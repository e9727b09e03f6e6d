//! limits: the bounds one plane's listeners enforce against abusive or broken clients, and the
//! connection gate that counts open connections in total and per client address. The gate
//! only counts; refusing (closing, answering 503) is the accept loops' job. Shared by every
//! listener of a plane (TCP, TLS, QUIC) and touched once per connection, never per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Limits of one plane's listeners (`[limits]` in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at most over all listeners; one more is refused.
    pub max_connections: usize,
    /// Open connections at most from one client address; one more is refused.
    pub max_connections_per_ip: usize,
    /// Concurrent requests on one HTTP/2 or HTTP/3 connection; more wait for the peer's window.
    pub max_streams_per_connection: u32,
    /// Request line plus headers (HTTP/1 read buffer; h2 and h3 header list size). HTTP/1
    /// refuses more with 431, h2 with a stream reset.
    pub max_header_bytes: usize,
    /// Time a client has to complete a TLS handshake and send each request's headers.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed (keep-alive pings do not
    /// count as requests).
    pub idle_timeout: Duration,
    /// A write the client does not read for this long closes its connection.
    pub write_timeout: Duration,
    /// Time in-flight requests get to finish after shutdown starts.
    pub drain_timeout: Duration,
}

/// HTTP/1 header count at most (hyper's own default, named here): more is a 431.
pub const MAX_HEADERS: usize = 100;

/// hyper's HTTP/1 read buffer cannot be smaller than this (it asserts so).
pub const MIN_HEADER_BYTES: usize = 8192;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 16_384,
            max_connections_per_ip: 1024,
            max_streams_per_connection: 256,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a connection was refused at the gate; its `reason()` is a `refusals` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    #[error("too many open connections")]
    Total,
    #[error("too many open connections from this address")]
    PerAddress,
}

impl GateRefusal {
    pub fn reason(self) -> &'static str {
        match self {
            GateRefusal::Total => "connections_total",
            GateRefusal::PerAddress => "connections_per_ip",
        }
    }
}

/// Open connections in total and per address. The map holds only addresses with an open
/// connection, so it never exceeds `max_connections` entries.
#[derive(Debug)]
pub struct Gate {
    max_total: usize,
    max_per_ip: usize,
    /// Locked for a map update once per connection open and close, never across `.await`.
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

impl Gate {
    pub fn new(limits: &Limits) -> Arc<Gate> {
        Arc::new(Gate {
            max_total: limits.max_connections,
            max_per_ip: limits.max_connections_per_ip,
            open: Mutex::new(Open::default()),
        })
    }

    /// A slot for one connection from `ip`, released when the slot is dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, GateRefusal> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.max_total {
            return Err(GateRefusal::Total);
        }
        let n = open.by_ip.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            return Err(GateRefusal::PerAddress);
        }
        *n += 1;
        open.total += 1;
        Ok(Slot { gate: self.clone(), ip })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Slot {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(total: usize, per_ip: usize) -> Arc<Gate> {
        Gate::new(&Limits { max_connections: total, max_connections_per_ip: per_ip, ..Limits::default() })
    }

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let g = gate(10, 2);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let held = [g.admit(a).unwrap(), g.admit(a).unwrap()];
        assert_eq!(g.admit(a).unwrap_err(), GateRefusal::PerAddress);
        assert!(g.admit(b).is_ok(), "another address is still admitted");
        drop(held);
        assert!(g.admit(a).is_ok(), "closing frees the address's places");
    }

    #[test]
    fn the_total_bounds_every_address_together_and_the_map_empties() {
        let g = gate(2, 5);
        let first = g.admit("10.0.0.1".parse().unwrap()).unwrap();
        let _second = g.admit("10.0.0.2".parse().unwrap()).unwrap();
        assert_eq!(g.admit("10.0.0.3".parse().unwrap()).unwrap_err(), GateRefusal::Total);
        drop(first);
        assert_eq!(g.open(), 1);
        assert_eq!(g.open.lock().unwrap().by_ip.len(), 1, "addresses with no connection are forgotten");
    }
}
