//! How many `GET /v1/events` streams a server holds open, in all and per client. Each costs a
//! socket (a file descriptor) for as long as its client likes, and nothing else bounds how
//! many a client may open: 20,000 anonymous streams used up a server's descriptors, and it
//! stopped accepting connections for everyone.

use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use crate::error::AppError;
use crate::shares::{Refused, Share, Shares};

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
    streams: Arc<Shares<Client>>,
    /// Streams reading the feed's past from the database (catching up) at once: each reads
    /// a page as soon as its client has taken the last, so sixty of them, with a filter that
    /// matched nothing in a long feed, held every connection of the pool (`/readyz` 503,
    /// reads waiting past their bound, the live feed's own reader cut off).
    reading: Arc<tokio::sync::Semaphore>,
}

/// One open stream; given back when dropped, however the stream ends.
pub type Slot = Share<Client>;

/// A place in the queue for a turn to read (see `Subscribers::turn_to_read`).
pub type Turn = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<tokio::sync::OwnedSemaphorePermit, tokio::sync::AcquireError>,
            > + Send,
    >,
>;

impl Subscribers {
    /// `readers`: the streams that may read the database at once while catching up.
    pub fn new(max: usize, max_per_client: usize, readers: usize) -> Self {
        Subscribers {
            streams: Arc::new(Shares::new(max, max_per_client)),
            reading: Arc::new(tokio::sync::Semaphore::new(readers.max(1))),
        }
    }

    /// A turn to read one page of the feed's past, when one is free; the turn ends when
    /// dropped. The future holds its place in the queue (first come, first served) for as
    /// long as it is kept, so a stream can send heartbeats while it waits without losing it.
    pub fn turn_to_read(&self) -> Turn {
        Box::pin(self.reading.clone().acquire_owned())
    }

    /// A slot for one more stream of `client`: 429 past its share, 503 past the server's.
    pub fn take(&self, client: Client) -> Result<Slot, AppError> {
        self.streams.take(client).map_err(|refused| match refused {
            Refused::Client(mine) => AppError::TooManyRequests {
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
            },
            Refused::Server(total) => AppError::Unavailable(format!(
                "this server holds {total} event streams, its most; retry later, or follow \
                 GET /v1/changes"
            )),
        })
    }
}
