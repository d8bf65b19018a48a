//! Erasure coding on a dedicated 1-proxy / 5-target cluster: EC(2,2) with small objects
//! replicated; slices land on the other targets; after two targets are killed (-9) every
//! object still reads back with the right bytes (rebuilt from slices or a replica); a lost
//! object file on a live owner is rebuilt too.

use ais_api::Client;
use ais_core::{Bck, Provider};
use ais_e2e::{Cluster, count_files, data, wait_for};
use std::time::Duration;

const N: usize = 60;
const LIMIT: usize = 4096;

fn obj(i: usize) -> String {
    format!("ec/o-{i:03}")
}

fn size(i: usize) -> usize {
    if i.is_multiple_of(4) {
        1 + i * 37 % LIMIT
    } else {
        LIMIT + (i * 7919) % 200_000
    }
}

/// Slices plus replicas expected: D+P for large objects, P replicas for small ones.
fn expected_pieces() -> usize {
    (0..N).map(|i| if size(i) < LIMIT { 2 } else { 4 }).sum()
}

fn pieces(cl: &Cluster, bck: &Bck) -> usize {
    (0..5)
        .flat_map(|t| (1..=ais_e2e::MOUNTPATHS).map(move |m| (t, m)))
        .map(|(t, m)| {
            count_files(
                &cl.dir
                    .join(format!("target-{t}"))
                    .join(format!("mp{m}"))
                    .join("@ais")
                    .join(&bck.name)
                    .join("%ec"),
            )
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ec_survives_two_dead_targets() {
    let cl = Cluster::deploy_with(1, 5, "ec").expect("deploy 1 proxy + 5 targets");
    let ep = cl.node("proxy-0").url();
    let c = Client::new(&ep).unwrap();
    let bck = Bck::new("ecb", Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/{}?provider=ais", bck.name))
        .json(&serde_json::json!({"action": "set-bprops", "name": "", "value":
            {"ec": {"enabled": true, "data_slices": 2, "parity_slices": 2, "objsize_limit": LIMIT}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    ais_e2e::put_many(&c, &bck, N, obj, size).await;
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || async { (pieces(&cl, &bck) == expected_pieces()).then_some(()) },
    )
    .await
    .unwrap_or_else(|| {
        panic!(
            "EC pieces: {} of {} expected",
            pieces(&cl, &bck),
            expected_pieces()
        )
    });

    // A lost object file on a live owner is rebuilt on GET.
    let lost = (0..5)
        .flat_map(|t| (1..=ais_e2e::MOUNTPATHS).map(move |m| (t, m)))
        .map(|(t, m)| {
            cl.dir
                .join(format!("target-{t}"))
                .join(format!("mp{m}"))
                .join("@ais")
                .join(&bck.name)
                .join("%ob")
                .join(obj(1))
        })
        .find(|p| p.exists())
        .expect("object file");
    std::fs::remove_file(&lost).unwrap();
    let (_, b) = c.get_object(&bck, &obj(1), None).await.unwrap();
    assert!(b[..] == data(1, size(1))[..]);
    assert!(lost.exists(), "rebuilt in place");

    // Background repair: object files deleted on their owners come back through an
    // `ec-encode` job named `recover`, without any client reading them.
    let main_file = |i: usize| {
        (0..5)
            .flat_map(|t| (1..=ais_e2e::MOUNTPATHS).map(move |m| (t, m)))
            .map(|(t, m)| {
                cl.dir
                    .join(format!("target-{t}"))
                    .join(format!("mp{m}"))
                    .join("@ais")
                    .join("ecb")
                    .join("%ob")
                    .join(obj(i))
            })
            .find(|p| p.exists())
    };
    let lost: Vec<(usize, std::path::PathBuf)> = [5usize, 9, 12]
        .into_iter()
        .map(|i| (i, main_file(i).expect("object file")))
        .collect();
    for (_, p) in &lost {
        std::fs::remove_file(p).unwrap();
    }
    let r = reqwest::Client::new()
        .post(format!("{ep}/v1/buckets/{}?provider=ais", bck.name))
        .json(&serde_json::json!({"action": "ec-encode", "name": "recover"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let id = r.text().await.unwrap();
    let st = c.wait_job(&id, Duration::from_secs(60)).await.unwrap();
    assert!(st.err.is_empty(), "{st:?}");
    for (i, p) in &lost {
        assert!(p.exists(), "{} rebuilt in the background", obj(*i));
        assert!(std::fs::read(p).unwrap() == data(*i as u64, size(*i)));
    }

    // Two targets die.
    cl.node("target-1").kill9();
    cl.node("target-3").kill9();
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { (c.smap().await.ok()?.tmap.len() == 3).then_some(()) },
    )
    .await
    .expect("dead targets leave the map");
    for i in 0..N {
        let (_, b) = c
            .get_object(&bck, &obj(i), None)
            .await
            .unwrap_or_else(|e| panic!("GET {} after two targets died: {e}", obj(i)));
        assert!(
            b[..] == data(i as u64, size(i))[..],
            "{}: wrong bytes",
            obj(i)
        );
    }
}
