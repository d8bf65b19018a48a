//! The main scenario with the Rust client: 1000 objects of random sizes through a proxy.

use ais_api::Client;
use ais_core::wire::{ListRange, LsoMsg};
use ais_core::{Bck, Cksum, CksumType, ErrKind, Provider};
use ais_e2e::{bucket_name, data, shared};
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

const N: usize = 1000;
const CONCURRENCY: usize = 16;

fn name(i: usize) -> String {
    match i % 5 {
        0 => format!("d1/sub/obj-{i:04}"),
        1 => format!("d2/obj-{i:04}"),
        2 => format!("ünï/çødé-{i:04}"),
        3 => format!("with space {i:04}"),
        _ => format!("flat-{i:04}"),
    }
}

/// Object sizes: uniform in 0..=1 MiB from a fixed seed, with 0 and 1 MiB present.
fn sizes() -> Vec<usize> {
    let r = data(42, N * 8);
    (0..N)
        .map(|i| match i {
            0 => 0,
            1 => 1 << 20,
            _ => {
                (u64::from_le_bytes(r[i * 8..i * 8 + 8].try_into().unwrap()) % ((1 << 20) + 1))
                    as usize
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_objects_rust_client() {
    let c = Client::new(&shared().endpoint).unwrap();
    let bck = Bck::new(&bucket_name("rs-main"), Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let props = c.head_bucket(&bck).await.unwrap();
    assert_eq!(props.checksum.ty, CksumType::Xxhash);

    // PUT 1000 objects, 16 at a time.
    let sizes = sizes();
    let names: Vec<String> = (0..N).map(name).collect();
    let puts = futures_util::stream::iter(0..N).map(|i| {
        let (c, bck, n, sz) = (c.clone(), bck.clone(), names[i].clone(), sizes[i]);
        async move {
            let body = data(i as u64, sz);
            let want = Cksum::of(CksumType::Xxhash, &body).unwrap();
            let attrs = c
                .put_object(&bck, &n, Bytes::from(body), None)
                .await
                .unwrap();
            assert_eq!(attrs.cksum.as_ref(), Some(&want), "{n}");
            assert_eq!(attrs.version, "1");
        }
    });
    puts.buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;

    // List all, with default paging.
    let all = c
        .list_objects_all(&bck, "", "name,size,checksum,version,location")
        .await
        .unwrap();
    let got: BTreeMap<&str, &ais_core::wire::LsoEnt> =
        all.iter().map(|e| (e.name.as_str(), e)).collect();
    assert_eq!(got.len(), N);
    for (i, n) in names.iter().enumerate() {
        let e = got
            .get(n.as_str())
            .unwrap_or_else(|| panic!("{n} not listed"));
        assert_eq!(e.size as usize, sizes[i], "{n}");
        assert_eq!(
            e.checksum,
            Cksum::of(CksumType::Xxhash, &data(i as u64, sizes[i]))
                .unwrap()
                .value
        );
        assert!(e.location.starts_with("t["), "{}", e.location);
    }

    // Manual paging: 100 per page, sorted bytewise, no duplicates.
    let mut msg = LsoMsg {
        pagesize: 100,
        props: "name,size".into(),
        ..Default::default()
    };
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let p = c.list_objects_page(&bck, &msg).await.unwrap();
        assert!(p.entries.len() <= 100);
        pages += 1;
        paged.extend(p.entries.into_iter().map(|e| e.name));
        if p.continuation_token.is_empty() {
            break;
        }
        assert_eq!(&p.continuation_token, paged.last().unwrap());
        msg.uuid = p.uuid;
        msg.continuation_token = p.continuation_token;
        assert!(pages < 100, "paging does not terminate");
    }
    assert!(pages >= 10, "{pages} pages");
    let mut sorted = paged.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paged, sorted, "pages are sorted bytewise and disjoint");
    assert_eq!(paged.len(), N);

    // Prefix.
    let d1 = c.list_objects_all(&bck, "d1/", "name").await.unwrap();
    assert_eq!(d1.len(), N / 5);
    assert!(d1.iter().all(|e| e.name.starts_with("d1/sub/")));
    let uni = c.list_objects_all(&bck, "ünï/", "name").await.unwrap();
    assert_eq!(uni.len(), N / 5);

    // GET every object (half through the proxy, half straight from the HRW target).
    let gets = futures_util::stream::iter(0..N).map(|i| {
        let (c, bck, n, sz) = (c.clone(), bck.clone(), names[i].clone(), sizes[i]);
        async move {
            let (attrs, body) = if i % 2 == 0 {
                c.get_object(&bck, &n, None).await.unwrap()
            } else {
                c.get_object_direct(&bck, &n, None).await.unwrap()
            };
            let want = data(i as u64, sz);
            assert!(body[..] == want[..], "{n}: bytes differ");
            assert_eq!(
                attrs.cksum.unwrap(),
                Cksum::of(CksumType::Xxhash, &want).unwrap()
            );
        }
    });
    gets.buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;

    // Ranged GETs.
    for i in [1usize, 7, 123, 500] {
        let sz = sizes[i];
        let want = data(i as u64, sz);
        for (r, lo, hi) in [
            ("bytes=10-99", 10, 100),
            ("bytes=-5", sz - 5, sz),
            (&format!("bytes={}-", sz / 2) as &str, sz / 2, sz),
        ] {
            let (_, b) = c.get_object(&bck, &names[i], Some(r)).await.unwrap();
            assert_eq!(&b[..], &want[lo..hi.min(sz)], "{} {r}", names[i]);
        }
    }
    let e = c
        .get_object(&bck, &names[1], Some(&format!("bytes={}-", 2 << 20)))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(416));

    // HEAD.
    for i in [0usize, 1, 2, 3] {
        let h = c
            .head_object(&bck, &names[i], "name,size,checksum,version,location")
            .await
            .unwrap();
        assert_eq!(h.size as usize, sizes[i]);
        assert!(h.present);
        assert_eq!(h.version, "1");
        assert_eq!(
            h.cksum.unwrap().value,
            Cksum::of(CksumType::Xxhash, &data(i as u64, sizes[i]))
                .unwrap()
                .value
        );
    }
    // Overwrite bumps the version.
    let a = c
        .put_object(&bck, &names[3], Bytes::from_static(b"v2"), None)
        .await
        .unwrap();
    assert_eq!(a.version, "2");
    assert_eq!(
        &c.get_object(&bck, &names[3], None).await.unwrap().1[..],
        b"v2"
    );

    // Delete: one by one, by list, by template.
    for n in &names[..10] {
        c.delete_object(&bck, n).await.unwrap();
    }
    let e = c.delete_object(&bck, &names[0]).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    let sel = ListRange {
        objnames: names[10..30].to_vec(),
        ..Default::default()
    };
    let id = c.delete_objects(&bck, &sel).await.unwrap();
    let st = c.wait_job(&id, Duration::from_secs(60)).await.unwrap();
    assert!(st.err.is_empty() && !st.aborted, "{st:?}");
    for i in 0..50 {
        c.put_object(
            &bck,
            &format!("tmpl-{i:03}"),
            Bytes::from(data(i, 100)),
            None,
        )
        .await
        .unwrap();
    }
    let id = c
        .delete_objects(
            &bck,
            &ListRange {
                template: "tmpl-{000..049}".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.wait_job(&id, Duration::from_secs(60)).await.unwrap();
    let left = c.list_objects_all(&bck, "", "name").await.unwrap();
    assert_eq!(left.len(), N - 30);
    assert!(left.iter().all(|e| !e.name.starts_with("tmpl-")));
    for n in &names[..30] {
        let e = c.get_object(&bck, n, None).await.unwrap_err();
        assert_eq!(e.status(), Some(404), "{n}");
        assert!(
            e.to_string().contains(&format!("{}/{}", bck.cname(), n)),
            "{e}"
        );
    }

    // Destroy: gone from the listing and from every mountpath.
    c.destroy_bucket(&bck).await.unwrap();
    let e = c.head_bucket(&bck).await.unwrap_err();
    assert_eq!(e.kind(), ErrKind::BckNotFound, "{e}");
    assert!(!c.list_buckets(None).await.unwrap().contains(&bck));
    for mp in shared().mountpaths() {
        assert!(
            !mp.join("@ais").join(&bck.name).exists(),
            "{} still on {}",
            bck.name,
            mp.display()
        );
    }
}
