//! HRW placement: nanoseconds per object→target lookup (uname hashing included) for 10, 100
//! and 1000 targets, and the bare weight function.
// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use ais_meta::{NodeRole, Smap, Snode};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn smap(n: usize) -> Smap {
    let mut s = Smap::new("bench".into());
    for i in 0..n {
        s.add(Snode::new(
            &format!("target{i:05}"),
            NodeRole::Target,
            "127.0.0.1",
            8081,
        ));
    }
    s
}

fn hrw(c: &mut Criterion) {
    let names: Vec<String> = (0..1024)
        .map(|i| format!("ais/@#/imagenet/train/{i:08}.jpg"))
        .collect();
    let mut g = c.benchmark_group("hrw_target");
    g.throughput(Throughput::Elements(1));
    for n in [10usize, 100, 1000] {
        let s = smap(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &s, |b, s| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(s.hrw_target(black_box(&names[i])).unwrap());
            })
        });
    }
    g.finish();
    c.bench_function("mix", |b| {
        b.iter(|| ais_placement::mix(black_box(0x1234_5678_9abc_def0)))
    });
}

criterion_group!(benches, hrw);
criterion_main!(benches);
