//! Primary election, sans-IO: who the next primary is and whether a proxy agrees.
//!
//! The candidate is the electable proxy (not flagged non-electable, in maintenance or being
//! decommissioned) with the largest raw `id_digest`, skipping proxies known to be gone — the same
//! choice on every proxy that has the same Smap, so votes converge without a round of proposals.

use ais_meta::{Smap, Snode, snode_flag};

const NOT_ELECTABLE: u64 =
    snode_flag::NON_ELECTABLE | snode_flag::MAINTENANCE | snode_flag::DECOMMISSION;

/// The proxy that should become primary, excluding the ids in `gone`.
pub fn candidate<'a>(smap: &'a Smap, gone: &[&str]) -> Option<&'a Snode> {
    smap.pmap
        .values()
        .filter(|p| p.flags & NOT_ELECTABLE == 0 && !gone.contains(&p.daemon_id.as_str()))
        .max_by_key(|p| (p.id_digest, p.daemon_id.as_str()))
}

/// A voter's decision on a request to replace `old_primary` with `candidate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vote {
    /// Agree.
    Yes,
    /// Disagree, with the reason.
    No(String),
}

/// Decides a vote: agree only if this proxy also cannot reach the old primary, the request is
/// about our current primary, and the candidate is the one we would pick ourselves.
pub fn decide(smap: &Smap, candidate_id: &str, old_primary: &str, primary_reachable: bool) -> Vote {
    let cur = smap
        .proxy_si
        .as_ref()
        .map(|p| p.daemon_id.as_str())
        .unwrap_or("");
    if cur != old_primary {
        if cur == candidate_id {
            return Vote::Yes; // already switched to this candidate
        }
        return Vote::No(format!("primary is {cur}, not {old_primary}"));
    }
    if primary_reachable {
        return Vote::No(format!("primary {old_primary} is alive"));
    }
    match candidate(smap, &[old_primary]) {
        Some(c) if c.daemon_id == candidate_id => Vote::Yes,
        Some(c) => Vote::No(format!("expected candidate {}", c.daemon_id)),
        None => Vote::No("no electable proxy".into()),
    }
}

/// Whether `yes` votes (the candidate's own included) win among `electorate` proxies (all proxies
/// but the failed primary): a strict majority. A voter that did not answer is not a yes, so two
/// partitions can never both elect.
pub fn has_majority(yes: usize, electorate: usize) -> bool {
    yes * 2 > electorate
}

/// The Smap a newly elected primary installs: `me` primary, `old` removed, version bumped.
pub fn new_smap(smap: &Smap, me: &str, old: &str) -> Option<Smap> {
    let mut s = smap.clone();
    s.pmap.remove(old);
    let me = s.pmap.get(me)?.clone();
    s.proxy_si = Some(me);
    s.version += 1;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_meta::{NodeRole, Snode};

    fn smap() -> Smap {
        let mut s = Smap::new("u".into());
        for id in ["proxyAAA", "proxyBBB", "proxyCCC"] {
            s.add(Snode::new(id, NodeRole::Proxy, "h", 1));
        }
        s.add(Snode::new("targetXX", NodeRole::Target, "h", 2));
        s.proxy_si = Some(s.pmap["proxyAAA"].clone());
        s
    }

    #[test]
    fn candidate_is_max_digest_and_deterministic() {
        let s = smap();
        let c = candidate(&s, &["proxyAAA"]).unwrap();
        let max = s
            .pmap
            .values()
            .filter(|p| p.daemon_id != "proxyAAA")
            .map(|p| p.id_digest)
            .max()
            .unwrap();
        assert_eq!(c.id_digest, max);
        assert_eq!(c.daemon_type, NodeRole::Proxy);
        // excluding the winner picks the other one
        let c2 = candidate(&s, &["proxyAAA", &c.daemon_id]).unwrap();
        assert_ne!(c2.daemon_id, c.daemon_id);
        assert!(candidate(&s, &["proxyAAA", "proxyBBB", "proxyCCC"]).is_none());
    }

    #[test]
    fn flags_exclude() {
        let mut s = smap();
        let best = candidate(&s, &["proxyAAA"]).unwrap().daemon_id.clone();
        s.pmap.get_mut(&best).unwrap().flags = snode_flag::NON_ELECTABLE;
        assert_ne!(candidate(&s, &["proxyAAA"]).unwrap().daemon_id, best);
    }

    #[test]
    fn majority() {
        assert!(has_majority(1, 1));
        assert!(
            !has_majority(1, 2),
            "two survivors: the other one must agree"
        );
        assert!(has_majority(2, 2));
        assert!(has_majority(2, 3));
        assert!(!has_majority(2, 4));
        assert!(!has_majority(0, 0));
    }

    #[test]
    fn votes() {
        let s = smap();
        let c = candidate(&s, &["proxyAAA"]).unwrap().daemon_id.clone();
        assert_eq!(decide(&s, &c, "proxyAAA", false), Vote::Yes);
        assert!(matches!(decide(&s, &c, "proxyAAA", true), Vote::No(_)));
        let other = s
            .pmap
            .keys()
            .find(|k| **k != c && *k != "proxyAAA")
            .unwrap()
            .clone();
        assert!(matches!(decide(&s, &other, "proxyAAA", false), Vote::No(_)));
        assert!(matches!(decide(&s, &c, "proxyBBB", false), Vote::No(_)));
        let n = new_smap(&s, &c, "proxyAAA").unwrap();
        assert_eq!(n.version, s.version + 1);
        assert_eq!(n.proxy_si.as_ref().unwrap().daemon_id, c);
        assert!(!n.pmap.contains_key("proxyAAA"));
        assert_eq!(decide(&n, &c, "proxyAAA", false), Vote::Yes);
    }
}
