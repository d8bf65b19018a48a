//! In-process PUT and GET of 1 MiB objects through one proxy and one target on loopback
//! (client → proxy → redirect → target → disk), with the official data path: checksums,
//! fsync, atomic rename.
// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use ais_api::Client;
use ais_core::{Bck, Provider};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SIZE: usize = 1 << 20;

fn datapath(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mc = rt.block_on(ais_benches::mini_cluster(1));
    let client = Client::new(&mc.proxy.url()).expect("client");
    let bck = Bck::new("bench", Provider::Ais).expect("bucket name");
    rt.block_on(client.create_bucket(&bck))
        .expect("create bucket");
    let body = Bytes::from((0..SIZE).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>());

    let mut g = c.benchmark_group("datapath_1MiB");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(30);
    let mut i = 0u64;
    g.bench_function("put", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(client.put_object(&bck, &format!("obj-{}", i % 64), body.clone(), None))
                .expect("put");
        })
    });
    for k in 0..64 {
        rt.block_on(client.put_object(&bck, &format!("obj-{k}"), body.clone(), None))
            .expect("put");
    }
    g.bench_function("get_via_proxy", |b| {
        b.iter(|| {
            i += 1;
            let (_, data) = rt
                .block_on(client.get_object(&bck, &format!("obj-{}", i % 64), None))
                .expect("get");
            assert_eq!(data.len(), SIZE);
        })
    });
    g.bench_function("get_direct", |b| {
        b.iter(|| {
            i += 1;
            let (_, data) = rt
                .block_on(client.get_object_direct(&bck, &format!("obj-{}", i % 64), None))
                .expect("get");
            assert_eq!(data.len(), SIZE);
        })
    });
    g.finish();
    rt.block_on(async {
        mc.proxy.stop().await;
        mc.target.stop().await;
    });
}

/// The cost of request metrics on the GET path: 16 KiB direct GETs against two clusters, one
/// counting requests and one not, in the same run.
fn metrics_cost(c: &mut Criterion) {
    const SMALL: usize = 16 << 10;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body = Bytes::from(vec![5u8; SMALL]);
    let mut g = c.benchmark_group("metrics_cost_get_16KiB");
    g.throughput(Throughput::Elements(1));
    g.sample_size(50);
    for on in [true, false] {
        let mc = rt.block_on(ais_benches::mini_cluster_with(1, on));
        let client = Client::new(&mc.proxy.url()).expect("client");
        let bck = Bck::new("bench", Provider::Ais).expect("bucket name");
        rt.block_on(client.create_bucket(&bck))
            .expect("create bucket");
        for k in 0..64 {
            rt.block_on(client.put_object(&bck, &format!("s-{k}"), body.clone(), None))
                .expect("put");
        }
        let mut i = 0u64;
        g.bench_function(if on { "metrics_on" } else { "metrics_off" }, |b| {
            b.iter(|| {
                i += 1;
                let (_, d) = rt
                    .block_on(client.get_object_direct(&bck, &format!("s-{}", i % 64), None))
                    .expect("get");
                assert_eq!(d.len(), SMALL);
            })
        });
        rt.block_on(async {
            mc.proxy.stop().await;
            mc.target.stop().await;
        });
    }
    g.finish();
}

/// What one request adds to the metrics: the accounting call itself (atomic adds).
fn metrics_update(c: &mut Criterion) {
    let s = ais_stats::Stats::new(ais_stats::Role::Target, "bench");
    c.bench_function("metrics_update_per_request", |b| {
        b.iter(|| {
            s.get.ok(
                std::hint::black_box(16 << 10),
                std::hint::black_box(std::time::Duration::from_micros(100)),
            )
        })
    });
}

/// Interleaved A/B: rounds of 16 KiB direct GETs alternating between a cluster with metrics and
/// one without, so machine noise hits both alike. Prints the median time per GET of each.
#[allow(clippy::print_stdout)] // a bench report
fn metrics_ab(_c: &mut Criterion) {
    const SMALL: usize = 16 << 10;
    const ROUNDS: usize = 12;
    const PER_ROUND: usize = 1500;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body = Bytes::from(vec![5u8; SMALL]);
    let mut sides = Vec::new();
    // AIS_BENCH_AB=on,on (an A/A check) or off,on to swap the order; default on,off.
    let spec = std::env::var("AIS_BENCH_AB").unwrap_or_else(|_| "on,off".into());
    let order: Vec<bool> = spec.split(',').map(|x| x.trim() == "on").collect();
    for on in order {
        let mc = rt.block_on(ais_benches::mini_cluster_with(1, on));
        let client = Client::new(&mc.proxy.url()).expect("client");
        let bck = Bck::new("bench", Provider::Ais).expect("bucket name");
        rt.block_on(client.create_bucket(&bck))
            .expect("create bucket");
        for k in 0..64 {
            rt.block_on(client.put_object(&bck, &format!("s-{k}"), body.clone(), None))
                .expect("put");
        }
        sides.push((mc, client, bck, Vec::new()));
    }
    for round in 0..ROUNDS {
        for (k, (_, client, bck, times)) in sides.iter_mut().enumerate() {
            let _ = k;
            let t = std::time::Instant::now();
            for i in 0..PER_ROUND {
                let (_, d) = rt
                    .block_on(client.get_object_direct(
                        bck,
                        &format!("s-{}", (i + round) % 64),
                        None,
                    ))
                    .expect("get");
                assert_eq!(d.len(), SMALL);
            }
            times.push(t.elapsed().as_nanos() as f64 / PER_ROUND as f64);
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        v[v.len() / 2]
    };
    let on = med(&mut sides[0].3);
    let off = med(&mut sides[1].3);
    println!(
        "metrics A/B [{spec}] (16 KiB direct GET, {ROUNDS} interleaved rounds x {PER_ROUND}): first {:.1} us, second {:.1} us, first/second {:+.2}%",
        on / 1e3,
        off / 1e3,
        (on / off - 1.0) * 100.0
    );
    for (mc, ..) in sides {
        rt.block_on(async {
            mc.proxy.stop().await;
            mc.target.stop().await;
        });
    }
}

criterion_group!(benches, datapath, metrics_cost, metrics_update, metrics_ab);
criterion_main!(benches);
