//! How many `GET /v1/events` streams a server holds open, in all and per client. Each costs a
//! socket (a file descriptor) for as long as its client likes, and nothing else bounds how
//! many a client may open: 20,000 anonymous streams used up a server's descriptors, and it
//! stopped accepting connections for everyone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::error::AppError;

/// Default streams per server (`--max-event-streams`).
pub const DEFAULT_MAX: usize = 5_000;
/// Default streams per client (`--max-event-streams-per-client`): an API key, or a client
/// address for streams opened without one.
pub const DEFAULT_MAX_PER_CLIENT: usize = 100;

/// Who a stream is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    Key(Uuid),
    Address(Option<IpAddr>),
}

/// The streams open in this process, shared by every HTTP worker.
pub struct Subscribers {
    max: usize,
    max_per_client: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<Client, usize>,
}

/// One open stream; given back when dropped, however the stream ends.
pub struct Slot {
    subscribers: Arc<Subscribers>,
    client: Client,
}

impl Subscribers {
    pub fn new(max: usize, max_per_client: usize) -> Self {
        Subscribers {
            max,
            max_per_client,
            open: Mutex::default(),
        }
    }

    /// A slot for one more stream of `client`: 429 past its share, 503 past the server's.
    pub fn take(self: &Arc<Self>, client: Client) -> Result<Slot, AppError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.by_client.get(&client).copied().unwrap_or(0);
        if mine >= self.max_per_client {
            return Err(AppError::TooManyRequests {
                detail: format!(
                    "{mine} event streams are open for this client ({}), the most one client may \
                     hold on this server; close one first (one stream carries every entry its \
                     filters select)",
                    match client {
                        Client::Key(_) => "its API key",
                        Client::Address(_) => "its address",
                    }
                ),
                retry_after: 5,
            });
        }
        if open.total >= self.max {
            return Err(AppError::Unavailable(format!(
                "this server holds {} event streams, its most; retry later, or follow \
                 GET /v1/changes",
                open.total
            )));
        }
        open.total += 1;
        *open.by_client.entry(client).or_default() += 1;
        Ok(Slot {
            subscribers: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .subscribers
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}
