//! The primary's keepalive tracker, sans-IO: when each node last reported.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Last-heard times of nodes.
#[derive(Debug, Default)]
pub struct Tracker {
    seen: HashMap<String, Instant>,
}

impl Tracker {
    /// Records that `id` reported at `now`.
    pub fn touch(&mut self, id: &str, now: Instant) {
        self.seen.insert(id.to_string(), now);
    }

    /// Gives every node in `ids` a fresh start at `now` (e.g. when becoming primary), keeping
    /// newer records; forgets nodes not in `ids`.
    pub fn reset<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>, now: Instant) {
        let mut next = HashMap::new();
        for id in ids {
            let t = self
                .seen
                .get(id)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            next.insert(id.to_string(), t);
        }
        self.seen = next;
    }

    /// Forgets a node.
    pub fn remove(&mut self, id: &str) {
        self.seen.remove(id);
    }

    /// Nodes among `ids` not heard from for longer than `timeout` at `now` (unknown ones are
    /// started at `now`, so a node is never expired before it had a full timeout).
    pub fn expired<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a str>,
        now: Instant,
        timeout: Duration,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for id in ids {
            let t = *self.seen.entry(id.to_string()).or_insert(now);
            if now.saturating_duration_since(t) > timeout {
                out.push(id.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry() {
        let t0 = Instant::now();
        let to = Duration::from_secs(3);
        let mut k = Tracker::default();
        k.touch("a", t0);
        assert!(
            k.expired(["a", "b"], t0 + Duration::from_secs(2), to)
                .is_empty()
        );
        // b was first seen at t0+2s by `expired`
        assert_eq!(
            k.expired(["a", "b"], t0 + Duration::from_secs(4), to),
            ["a"]
        );
        k.touch("a", t0 + Duration::from_secs(4));
        assert_eq!(
            k.expired(["a", "b"], t0 + Duration::from_secs(6), to),
            ["b"]
        );
        k.reset(["a"], t0 + Duration::from_secs(10));
        assert!(
            k.expired(["a"], t0 + Duration::from_secs(12), to)
                .is_empty()
        );
    }
}
