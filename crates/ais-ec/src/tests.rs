use super::*;
use proptest::prelude::*;

const MIB: usize = 1 << 20;

fn object(len: usize, seed: u64) -> Vec<u8> {
    // xorshift: cheap, deterministic, not all zeros (zeros would hide padding bugs)
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn cfg(d: usize, p: usize) -> EcConfig {
    EcConfig::new(d, p).unwrap()
}

fn present(enc: &Encoded) -> Vec<Option<Slice>> {
    enc.slices.iter().cloned().map(Some).collect()
}

#[test]
fn config_limits() {
    assert!(EcConfig::new(1, 1).is_ok());
    assert!(EcConfig::new(32, 32).is_ok());
    for (d, p) in [(0, 1), (1, 0), (33, 1), (1, 33), (0, 0)] {
        let e = EcConfig::new(d, p).unwrap_err();
        assert!(matches!(e, Error::InvalidConfig { .. }), "{d},{p}: {e}");
    }
    let bad = EcConfig { data: 0, parity: 2 };
    assert!(matches!(
        encode(&bad, b"x"),
        Err(Error::InvalidConfig { .. })
    ));
    assert_eq!(cfg(4, 2).to_string(), "4+2");
}

#[test]
fn slice_len_even_and_covering() {
    let c = cfg(4, 2);
    assert_eq!(c.slice_len(0), 2);
    assert_eq!(c.slice_len(1), 2);
    assert_eq!(c.slice_len(8), 2);
    assert_eq!(c.slice_len(9), 4);
    assert_eq!(c.slice_len(12), 4);
    assert_eq!(c.slice_len(13), 4);
    assert_eq!(c.slice_len(17), 6);
    for n in 0..200 {
        for d in [1, 2, 3, 7, 32] {
            let l = cfg(d, 1).slice_len(n);
            assert!(l >= 2 && l.is_multiple_of(2) && l * d >= n);
            assert!(l * d < n + 2 * d + 2, "not minimal: n={n} d={d} l={l}");
        }
    }
}

#[test]
fn round_trip_configs_and_sizes() {
    for (d, p) in [(2, 2), (4, 2), (8, 2), (1, 1)] {
        let c = cfg(d, p);
        for len in [0, 1, 3, 1001, 4096, 8 * 1000, MIB + 3] {
            let obj = object(len, len as u64 + 7);
            let enc = encode(&c, &obj).unwrap();
            assert_eq!(enc.original_len, len);
            assert_eq!(enc.slices.len(), d + p);
            assert_eq!(enc.slice_len, c.slice_len(len));
            for (i, s) in enc.slices.iter().enumerate() {
                assert_eq!(s.index, i);
                assert_eq!(s.bytes.len(), enc.slice_len);
                assert!(s.verify());
            }
            // data slices are the object, zero-padded
            let mut joined: Vec<u8> = enc.slices[..d]
                .iter()
                .flat_map(|s| s.bytes.iter().copied())
                .collect();
            assert!(joined[len..].iter().all(|b| *b == 0));
            joined.truncate(len);
            assert_eq!(joined, obj);

            let all = present(&enc);
            assert_eq!(reconstruct(&c, len, &all).unwrap(), obj, "{c} len={len}");
            assert!(rebuild_missing(&c, len, &all).unwrap().is_empty());

            // lose the first `p` data slices (or all data when d <= p)
            let mut lost = all.clone();
            for s in lost.iter_mut().take(p) {
                *s = None;
            }
            assert_eq!(reconstruct(&c, len, &lost).unwrap(), obj, "{c} len={len}");
            let rebuilt = rebuild_missing(&c, len, &lost).unwrap();
            assert_eq!(rebuilt, enc.slices[..p].to_vec());
        }
    }
}

#[test]
fn every_loss_set_up_to_parity_4_2() {
    let c = cfg(4, 2);
    for len in [0, 1, 7, 4096, 100_003] {
        let obj = object(len, 42);
        let enc = encode(&c, &obj).unwrap();
        let mut sets = 0;
        for mask in 0u32..(1 << 6) {
            if mask.count_ones() > 2 {
                continue;
            }
            sets += 1;
            let slices: Vec<Option<Slice>> = enc
                .slices
                .iter()
                .map(|s| (mask & (1 << s.index) == 0).then(|| s.clone()))
                .collect();
            assert_eq!(
                reconstruct(&c, len, &slices).unwrap(),
                obj,
                "mask={mask:06b}"
            );
            let rebuilt = rebuild_missing(&c, len, &slices).unwrap();
            let want: Vec<Slice> = enc
                .slices
                .iter()
                .filter(|s| mask & (1 << s.index) != 0)
                .cloned()
                .collect();
            assert_eq!(rebuilt, want, "mask={mask:06b}");
        }
        assert_eq!(sets, 1 + 6 + 15);
    }
}

#[test]
fn corrupted_slice_detected_and_tolerated() {
    let c = cfg(4, 2);
    let obj = object(10_000, 3);
    let enc = encode(&c, &obj).unwrap();
    for victim in 0..6 {
        let mut slices = present(&enc);
        let s = slices[victim].as_mut().unwrap();
        s.bytes[17] ^= 0x40;
        assert!(!s.verify());
        // one more slice lost outright: still within parity
        let other = (victim + 3) % 6;
        slices[other] = None;
        assert_eq!(reconstruct(&c, obj.len(), &slices).unwrap(), obj);
        let rebuilt = rebuild_missing(&c, obj.len(), &slices).unwrap();
        let mut idx: Vec<usize> = rebuilt.iter().map(|s| s.index).collect();
        idx.sort_unstable();
        let mut want = vec![victim, other];
        want.sort_unstable();
        assert_eq!(idx, want);
        for r in &rebuilt {
            assert_eq!(r, &enc.slices[r.index]);
        }
    }
}

#[test]
fn rebuild_finds_damage_reconstruct_skips() {
    let c = cfg(4, 2);
    let obj = object(4000, 11);
    let enc = encode(&c, &obj).unwrap();
    let mut slices = present(&enc);
    slices[5].as_mut().unwrap().bytes[3] ^= 1; // parity slice rotted
    // the data slices suffice: the parity slice is never read
    assert_eq!(reconstruct(&c, obj.len(), &slices).unwrap(), obj);
    // a repair pass checks every slice and rebuilds the rotten one
    assert_eq!(
        rebuild_missing(&c, obj.len(), &slices).unwrap(),
        vec![enc.slices[5].clone()]
    );
}

#[test]
fn wrong_length_treated_as_lost() {
    let c = cfg(4, 2);
    let obj = object(1000, 5);
    let enc = encode(&c, &obj).unwrap();
    let mut slices = present(&enc);
    let s = slices[1].as_mut().unwrap();
    s.bytes.truncate(10);
    s.checksum = checksum(&s.bytes); // checksum matches, length does not
    assert_eq!(reconstruct(&c, obj.len(), &slices).unwrap(), obj);
    // wrong original_len: every slice has the wrong length
    let e = reconstruct(&c, obj.len() + 100, &present(&enc)).unwrap_err();
    match e {
        Error::TooFewSlices { have, bad_len, .. } => {
            assert_eq!(have, 0);
            assert_eq!(bad_len, vec![0, 1, 2, 3, 4, 5]);
        }
        e => panic!("{e}"),
    }
}

#[test]
fn too_many_lost() {
    let c = cfg(4, 2);
    let obj = object(5000, 9);
    let enc = encode(&c, &obj).unwrap();
    let mut slices = present(&enc);
    slices[0] = None;
    slices[4] = None;
    slices[2].as_mut().unwrap().bytes[0] ^= 1; // corrupt: a third loss
    let e = reconstruct(&c, obj.len(), &slices).unwrap_err();
    match &e {
        Error::TooFewSlices {
            need,
            total,
            have,
            missing,
            corrupt,
            bad_len,
        } => {
            assert_eq!((*need, *total, *have), (4, 6, 3));
            assert_eq!(missing, &vec![0, 4]);
            assert_eq!(corrupt, &vec![2]);
            assert!(bad_len.is_empty());
        }
        e => panic!("{e}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("need 4 intact slices of 6, have 3"), "{msg}");
    assert!(matches!(
        rebuild_missing(&c, obj.len(), &slices),
        Err(Error::TooFewSlices { .. })
    ));
    // all lost
    let none = vec![None; 6];
    assert!(matches!(
        reconstruct(&c, 0, &none),
        Err(Error::TooFewSlices { have: 0, .. })
    ));
}

#[test]
fn shape_errors() {
    let c = cfg(2, 1);
    let enc = encode(&c, b"hello").unwrap();
    let mut slices = present(&enc);
    slices.pop();
    assert!(matches!(
        reconstruct(&c, 5, &slices),
        Err(Error::SliceCount {
            expected: 3,
            got: 2
        })
    ));
    let mut slices = present(&enc);
    slices.swap(0, 1);
    assert!(matches!(
        reconstruct(&c, 5, &slices),
        Err(Error::SliceIndex {
            position: 0,
            index: 1
        })
    ));
}

#[test]
fn checksum_is_ais_xxhash() {
    let s = Slice::new(0, b"hello".to_vec());
    let ais = ais_core::Cksum::of(ais_core::CksumType::Xxhash, b"hello").unwrap();
    assert_eq!(s.checksum_hex(), ais.value);
    assert_eq!(s.checksum_hex(), "26c7827d889f6da3");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_sizes_and_losses(
        d in 1usize..=10,
        p in 1usize..=4,
        len in 0usize..20_000,
        seed in any::<u64>(),
        loss in proptest::collection::vec(any::<bool>(), 14),
    ) {
        let c = cfg(d, p);
        let obj = object(len, seed);
        let enc = encode(&c, &obj).unwrap();
        let slices: Vec<Option<Slice>> = enc
            .slices
            .iter()
            .map(|s| (!loss[s.index]).then(|| s.clone()))
            .collect();
        let lost = loss[..d + p].iter().filter(|l| **l).count();
        if lost <= p {
            prop_assert_eq!(reconstruct(&c, len, &slices).unwrap(), obj);
            let rebuilt = rebuild_missing(&c, len, &slices).unwrap();
            prop_assert_eq!(rebuilt.len(), lost);
            for r in &rebuilt {
                prop_assert_eq!(r, &enc.slices[r.index]);
            }
        } else {
            let is_too_few = matches!(
                reconstruct(&c, len, &slices),
                Err(Error::TooFewSlices { .. })
            );
            prop_assert!(is_too_few);
        }
    }
}
