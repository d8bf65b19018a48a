//! `ais-placement`: HRW (highest random weight, "rendezvous") placement, bit-exact with AIStore
//! and its official clients.
//!
//! An object's `uname` (`provider/@uuid#ns/bucket/object`) is hashed once with XXH64 and
//! [`SEED`]; every candidate (target, mountpath) has its own XXH64 digest of its id or path; the
//! candidate with the largest `mix(candidate ^ object)` owns the object. Adding a candidate moves
//! only the objects the new one wins, about 1/N of them.
//!
//! Never does I/O; knows nothing about Smap or disks: callers pass digests.
//!
//! ```
//! use ais_placement::{digest, hrw_max};
//! let targets = ["TaXkLmNo", "TbYpQrSt", "TcZuVwXy"].map(|id| digest(id.as_bytes()));
//! let obj = digest(b"ais/@#/imagenet/train/0001.jpg");
//! assert_eq!(hrw_max(obj, targets.iter().copied()), Some(2)); // TcZuVwXy
//! ```

/// XXH64 seed used for all placement digests (Go's MLCG32 constant).
pub const SEED: u64 = 1_103_515_245;

/// XXH64 of `bytes` with [`SEED`]: the digest of an object uname, node id or mountpath.
#[inline]
pub fn digest(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(SEED, bytes)
}

/// The splitmix-style scrambler AIS applies to `candidate ^ object` digests.
#[inline]
pub fn mix(x: u64) -> u64 {
    const G: u64 = 0x9e37_79b9_7f4a_7c15;
    const M1: u64 = 0xbf58_476d_1ce4_e5b9;
    const M2: u64 = 0x94d0_49bb_1331_11eb;
    let mut z = x.wrapping_add(G);
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z = (z ^ (z >> 31)).wrapping_add(G);
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z = (z ^ (z >> 31)).wrapping_mul(5);
    z.rotate_left(7).wrapping_mul(9)
}

/// The weight of a candidate for an object.
#[inline]
pub fn weight(candidate: u64, obj: u64) -> u64 {
    mix(candidate ^ obj)
}

/// Index of the winning candidate among `candidates` (digests), or `None` if there are none.
/// Ties (practically impossible) go to the first candidate, as the Python SDK does.
#[inline]
pub fn hrw_max(obj: u64, candidates: impl IntoIterator<Item = u64>) -> Option<usize> {
    let mut best: Option<(usize, u64)> = None;
    for (i, c) in candidates.into_iter().enumerate() {
        let w = weight(c, obj);
        if best.is_none_or(|(_, bw)| w > bw) {
            best = Some((i, w));
        }
    }
    best.map(|(i, _)| i)
}

/// Candidates ordered by descending weight (for mirror/EC destinations): indices into the input.
pub fn hrw_sorted(obj: u64, candidates: &[u64]) -> Vec<usize> {
    let mut v: Vec<(u64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (weight(*c, obj), i))
        .collect();
    v.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const IDS: [&str; 3] = ["TaXkLmNo", "TbYpQrSt", "TcZuVwXy"];

    fn owner(uname: &str) -> &'static str {
        let c = IDS.map(|id| digest(id.as_bytes()));
        IDS[hrw_max(digest(uname.as_bytes()), c).unwrap()]
    }

    #[test]
    fn spec_vectors() {
        assert_eq!(mix(0), 1_905_207_664_160_064_169);
        assert_eq!(mix(4_573_842), 5_026_071_747_115_404_967);
        assert_eq!(
            digest(b"ais/@#/imagenet/train/0001.jpg"),
            14_180_536_622_825_319_693
        );
        assert_eq!(digest(b"TaXkLmNo"), 18_171_183_732_999_992_660);
        assert_eq!(digest(b"TbYpQrSt"), 239_271_182_190_139_942);
        assert_eq!(digest(b"TcZuVwXy"), 16_581_514_314_460_970_065);
        assert_eq!(owner("ais/@#/imagenet/train/0001.jpg"), "TcZuVwXy");
        assert_eq!(owner("ais/@#/bck/obj1"), "TbYpQrSt");
        assert_eq!(owner("ais/@#/bck/dir/obj2"), "TaXkLmNo");
        assert_eq!(owner("aws/@#/s3bck/a/b/c.txt"), "TaXkLmNo");
        assert_eq!(owner("ais/@uuid1#ns1/bck/obj1"), "TbYpQrSt");
    }

    #[test]
    fn mountpath_vectors() {
        let mps = ["/ais/mp1", "/ais/mp2", "/ais/mp3"].map(|p| digest(p.as_bytes()));
        let pick = |u: &str| hrw_max(digest(u.as_bytes()), mps).unwrap();
        assert_eq!(pick("ais/@#/bck/obj1"), 1);
        assert_eq!(pick("ais/@#/imagenet/train/0001.jpg"), 1);
    }

    #[test]
    fn empty() {
        assert_eq!(hrw_max(1, []), None);
    }

    fn node_ids(n: usize, salt: u64) -> Vec<u64> {
        (0..n)
            .map(|i| digest(format!("node{salt}-{i:04}").as_bytes()))
            .collect()
    }

    fn names(k: usize) -> Vec<u64> {
        (0..k)
            .map(|i| digest(format!("ais/@#/bck/obj-{i:06}").as_bytes()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Over 100k names, every one of 3..20 targets gets within ±5% of its fair share.
        #[test]
        fn uniform(n in 3usize..=20, salt in any::<u64>()) {
            let nodes = node_ids(n, salt);
            let objs = names(100_000);
            let mut counts = vec![0usize; n];
            for o in &objs {
                counts[hrw_max(*o, nodes.iter().copied()).unwrap()] += 1;
            }
            let fair = objs.len() as f64 / n as f64;
            for c in counts {
                let dev = (c as f64 - fair).abs() / fair;
                prop_assert!(dev <= 0.05, "count {} vs fair {:.0} ({:.3})", c, fair, dev);
            }
        }

        /// Adding a target moves ~1/(N+1) of names, and only onto the new target.
        #[test]
        fn minimal_movement(n in 3usize..=19, salt in any::<u64>()) {
            let mut nodes = node_ids(n, salt);
            let objs = names(20_000);
            let before: Vec<usize> = objs.iter().map(|o| hrw_max(*o, nodes.iter().copied()).unwrap()).collect();
            nodes.push(digest(format!("new-node-{salt}").as_bytes()));
            let mut moved = 0usize;
            for (o, b) in objs.iter().zip(&before) {
                let a = hrw_max(*o, nodes.iter().copied()).unwrap();
                if a != *b {
                    prop_assert_eq!(a, n, "moved to an old target");
                    moved += 1;
                }
            }
            let expect = objs.len() as f64 / (n + 1) as f64;
            prop_assert!((moved as f64 - expect).abs() / expect < 0.1, "moved {} expect {:.0}", moved, expect);
        }

        #[test]
        fn sorted_head_is_max(o in any::<u64>(), n in 1usize..30) {
            let nodes = node_ids(n, o);
            let s = hrw_sorted(o, &nodes);
            prop_assert_eq!(s[0], hrw_max(o, nodes.iter().copied()).unwrap());
            prop_assert_eq!(s.len(), n);
        }
    }
}
