//! Places a server holds at once, counted in all and per client under one lock, so that one
//! client cannot take them all: event streams (`subscribers`) and import jobs
//! (`service::imports`). A place is given back when its `Share` is dropped, however the work
//! holding it ends.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

pub struct Shares<K> {
    max: usize,
    max_per_client: usize,
    held: Mutex<Held<K>>,
}

struct Held<K> {
    total: usize,
    by_client: HashMap<K, usize>,
}

/// Why no place was given: the client holds its most, or the server does (how many).
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Client(usize),
    Server(usize),
}

/// One place, held until dropped.
pub struct Share<K: Eq + Hash + Clone> {
    shares: Arc<Shares<K>>,
    client: K,
}

impl<K: Eq + Hash + Clone> Shares<K> {
    pub fn new(max: usize, max_per_client: usize) -> Self {
        Shares {
            max,
            max_per_client,
            held: Mutex::new(Held {
                total: 0,
                by_client: HashMap::new(),
            }),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held<K>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for `client`: refused past its share first, then past the server's.
    pub fn take(self: &Arc<Self>, client: K) -> Result<Share<K>, Refused> {
        let mut held = self.held();
        let mine = held.by_client.get(&client).copied().unwrap_or(0);
        if mine >= self.max_per_client {
            return Err(Refused::Client(mine));
        }
        if held.total >= self.max {
            return Err(Refused::Server(held.total));
        }
        held.total += 1;
        *held.by_client.entry(client.clone()).or_default() += 1;
        Ok(Share {
            shares: self.clone(),
            client,
        })
    }

    /// Places held now.
    pub fn total(&self) -> usize {
        self.held().total
    }
}

impl<K: Eq + Hash + Clone> Drop for Share<K> {
    fn drop(&mut self) {
        let mut held = self.shares.held();
        held.total -= 1;
        if let Some(n) = held.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                held.by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_per_client_and_in_all_and_given_back() {
        let shares = Arc::new(Shares::new(3, 2));
        let a1 = shares.take('a').unwrap();
        let _a2 = shares.take('a').unwrap();
        assert_eq!(shares.take('a').err(), Some(Refused::Client(2)));
        let _b1 = shares.take('b').unwrap();
        assert_eq!(shares.take('c').err(), Some(Refused::Server(3)));
        drop(a1);
        assert_eq!(shares.total(), 2);
        let _c1 = shares.take('c').unwrap();
        assert_eq!(shares.take('a').err(), Some(Refused::Server(3)));
    }
}
