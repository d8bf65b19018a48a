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

criterion_group!(benches, datapath);
criterion_main!(benches);
