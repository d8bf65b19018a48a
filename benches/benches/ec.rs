//! Erasure coding and checksums, one core: `ais-ec` encode and reconstruct (with `parity` data
//! slices lost) next to bare `reed-solomon-simd` calls on the same shards, for (D,P) = (4,2)
//! and (8,2) on 1 MiB and 16 MiB objects; and every checksum AIS supports on 1 MiB.
//!
//! `raw` is the one-shot `reed_solomon_simd::{encode, decode}` (allocates its work buffers and
//! returns owned shards, like `ais-ec`); `raw_reuse` keeps one encoder/decoder across
//! iterations and copies nothing out: the codec's ceiling. The `ais_ec` / `raw` ratio is the
//! crate's overhead (splitting and padding the object, one XXH64 per slice written or read,
//! joining the output).
// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use ais_core::{Cksum, CksumType};
use ais_ec::{EcConfig, Slice, encode, reconstruct};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use std::hint::black_box;
use std::time::Duration;

const MIB: usize = 1 << 20;
const CONFIGS: [(usize, usize); 2] = [(4, 2), (8, 2)];
const SIZES: [(usize, &str); 2] = [(MIB, "1MiB"), (16 * MIB, "16MiB")];

fn object(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn ec_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("ec_encode");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (d, p) in CONFIGS {
        let cfg = EcConfig::new(d, p).expect("config");
        for (len, name) in SIZES {
            let obj = object(len);
            let enc = encode(&cfg, &obj).expect("encode");
            let shards: Vec<&[u8]> = enc.slices[..d].iter().map(|s| &s.bytes[..]).collect();
            let id = format!("{cfg}/{name}");
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_function(BenchmarkId::new("ais_ec", &id), |b| {
                b.iter(|| black_box(encode(&cfg, black_box(&obj)).expect("encode")))
            });
            g.bench_function(BenchmarkId::new("raw", &id), |b| {
                b.iter(|| {
                    black_box(reed_solomon_simd::encode(d, p, black_box(&shards)).expect("rs"))
                })
            });
            let mut e = ReedSolomonEncoder::new(d, p, enc.slice_len).expect("rs");
            g.bench_function(BenchmarkId::new("raw_reuse", &id), |b| {
                b.iter(|| {
                    e.reset(d, p, enc.slice_len).expect("rs");
                    for s in &shards {
                        e.add_original_shard(s).expect("rs");
                    }
                    let r = e.encode().expect("rs");
                    black_box(r.recovery(0).map(|x| x[0]));
                })
            });
        }
    }
    g.finish();
}

fn ec_reconstruct(c: &mut Criterion) {
    let mut g = c.benchmark_group("ec_reconstruct");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (d, p) in CONFIGS {
        let cfg = EcConfig::new(d, p).expect("config");
        for (len, name) in SIZES {
            let obj = object(len);
            let enc = encode(&cfg, &obj).expect("encode");
            // the first `p` data slices are lost
            let slices: Vec<Option<Slice>> = enc
                .slices
                .iter()
                .map(|s| (s.index >= p).then(|| s.clone()))
                .collect();
            assert_eq!(reconstruct(&cfg, len, &slices).expect("reconstruct"), obj);
            let originals: Vec<(usize, &[u8])> =
                (p..d).map(|i| (i, &enc.slices[i].bytes[..])).collect();
            let recovery: Vec<(usize, &[u8])> =
                (0..p).map(|j| (j, &enc.slices[d + j].bytes[..])).collect();
            let id = format!("{cfg}/{name}");
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_function(BenchmarkId::new("ais_ec", &id), |b| {
                b.iter(|| black_box(reconstruct(&cfg, len, black_box(&slices)).expect("rec")))
            });
            g.bench_function(BenchmarkId::new("raw", &id), |b| {
                b.iter(|| {
                    black_box(
                        reed_solomon_simd::decode(
                            d,
                            p,
                            originals.iter().copied(),
                            recovery.iter().copied(),
                        )
                        .expect("rs"),
                    )
                })
            });
            let mut dec = ReedSolomonDecoder::new(d, p, enc.slice_len).expect("rs");
            g.bench_function(BenchmarkId::new("raw_reuse", &id), |b| {
                b.iter(|| {
                    dec.reset(d, p, enc.slice_len).expect("rs");
                    for (i, s) in &originals {
                        dec.add_original_shard(*i, s).expect("rs");
                    }
                    for (j, s) in &recovery {
                        dec.add_recovery_shard(*j, s).expect("rs");
                    }
                    let r = dec.decode().expect("rs");
                    black_box(r.restored_original(0).map(|x| x[0]));
                })
            });
        }
    }
    g.finish();
}

fn cksum(c: &mut Criterion) {
    let buf = object(MIB);
    let mut g = c.benchmark_group("cksum_1MiB");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Bytes(MIB as u64));
    for ty in [
        CksumType::Xxhash,
        CksumType::Md5,
        CksumType::Crc32c,
        CksumType::Sha256,
        CksumType::Sha512,
    ] {
        g.bench_function(ty.as_str(), |b| {
            b.iter(|| black_box(Cksum::of(ty, black_box(&buf))))
        });
    }
    g.finish();
}

criterion_group!(benches, ec_encode, ec_reconstruct, cksum);
criterion_main!(benches);
