//! N-way mirroring on the shared cluster (3 targets × 2 mountpaths): with `mirror.copies=2`
//! every object has a copy on its target's other mountpath; bytes flipped in, or deletion of,
//! the object's file are healed from the copy on GET (never served wrong); changing the copy
//! count removes and re-creates copies in the background; DELETE removes both.

use ais_api::Client;
use ais_core::{Bck, Provider};
use ais_e2e::{bucket_name, count_files, data, shared};
use std::path::PathBuf;
use std::time::Duration;

const N: usize = 120;

fn obj(i: usize) -> String {
    format!("m{}/obj-{i:04}", i % 5)
}

fn size(i: usize) -> usize {
    1 + (i * 977) % 40_000
}

/// Sets bucket props; returns the reply body (the ids of jobs the change started, if any).
async fn set_props(ep: &str, bck: &Bck, value: serde_json::Value) -> String {
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/{}?provider=ais", bck.name))
        .json(&serde_json::json!({"action": "set-bprops", "name": "", "value": value}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits for the `make-n-copies` job a props change started; it must end without errors.
async fn wait_copies_job(c: &Client, id: &str) {
    assert!(!id.is_empty(), "a change of mirror.copies starts a job");
    let st = c.wait_job(id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(st.kind, "make-n-copies");
    assert!(st.err.is_empty() && !st.aborted, "{st:?}");
}

/// Files under `<mountpath>/@ais/<bucket>/<ct>` on every mountpath of the cluster.
fn files(bck: &Bck, ct: &str) -> usize {
    shared()
        .mountpaths()
        .iter()
        .map(|mp| count_files(&mp.join("@ais").join(&bck.name).join(ct)))
        .sum()
}

/// The object's own file (under `%ob`), wherever its target and mountpath are.
fn main_file(bck: &Bck, name: &str) -> PathBuf {
    shared()
        .mountpaths()
        .iter()
        .map(|mp| mp.join("@ais").join(&bck.name).join("%ob").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name}: no object file"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mirror_heals_and_follows_copies() {
    let ep = shared().endpoint.clone();
    let c = Client::new(&ep).unwrap();
    let bck = Bck::new(&bucket_name("mirror"), Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    set_props(
        &ep,
        &bck,
        serde_json::json!({"mirror": {"enabled": true, "copies": 2},
                           "checksum": {"validate_warm_get": true}}),
    )
    .await;
    ais_e2e::put_many(&c, &bck, N, obj, size).await;
    assert_eq!(files(&bck, "%ob"), N);
    assert_eq!(
        files(&bck, "%cp"),
        N,
        "one copy per object, written with the PUT"
    );
    let h = reqwest::Client::new()
        .head(format!(
            "{ep}/v1/objects/{}/{}?props=copies",
            bck.name,
            obj(3)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(h.headers()[ais_core::wire::hdr::MIRROR_COPIES], "2");

    // Damage: flip bytes in some objects' files, delete others'.
    let damaged: Vec<usize> = (0..N).step_by(6).collect();
    for (k, &i) in damaged.iter().enumerate() {
        let p = main_file(&bck, &obj(i));
        if k % 2 == 0 {
            let mut b = std::fs::read(&p).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 0x5a;
            std::fs::write(&p, b).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    // Every GET returns the right bytes; the damaged files are repaired.
    for i in 0..N {
        let (_, b) = c
            .get_object(&bck, &obj(i), None)
            .await
            .unwrap_or_else(|e| panic!("GET {}: {e}", obj(i)));
        assert!(
            b[..] == data(i as u64, size(i))[..],
            "{}: wrong bytes",
            obj(i)
        );
    }
    for &i in &damaged {
        let on_disk = std::fs::read(main_file(&bck, &obj(i))).unwrap();
        assert!(
            on_disk == data(i as u64, size(i)),
            "{} not repaired",
            obj(i)
        );
    }
    assert_eq!(files(&bck, "%ob"), N);
    assert_eq!(files(&bck, "%cp"), N);

    // Fewer copies: a make-n-copies job removes them; more: another brings them back.
    let id = set_props(&ep, &bck, serde_json::json!({"mirror": {"copies": 1}})).await;
    wait_copies_job(&c, &id).await;
    assert_eq!(files(&bck, "%cp"), 0, "copies removed after copies=1");
    let id = set_props(&ep, &bck, serde_json::json!({"mirror": {"copies": 2}})).await;
    wait_copies_job(&c, &id).await;
    assert_eq!(files(&bck, "%cp"), N, "copies re-created after copies=2");

    // DELETE removes the object and its copy.
    c.delete_object(&bck, &obj(0)).await.unwrap();
    assert_eq!(files(&bck, "%ob"), N - 1);
    assert_eq!(files(&bck, "%cp"), N - 1);
    c.destroy_bucket(&bck).await.unwrap();
}

/// A mountpath directory vanishes (a dead disk) on a 1-target cluster with 2 mountpaths and a
/// mirrored bucket: every object still reads back right (restored from its copy on the other
/// mountpath), the health checker takes the lost mountpath out of service, and afterwards every
/// object lives on the remaining one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mirror_survives_lost_mountpath() {
    use ais_e2e::Cluster;
    const M: usize = 80;
    let cl = Cluster::deploy_with(1, 1, "mpl").expect("deploy 1 proxy + 1 target");
    let ep = cl.node("proxy-0").url();
    let c = Client::new(&ep).unwrap();
    let tid = c.smap().await.unwrap().tmap.keys().next().unwrap().clone();
    let bck = Bck::new("mpl", Provider::Ais).unwrap();
    c.create_bucket(&bck).await.unwrap();
    set_props(
        &ep,
        &bck,
        serde_json::json!({"mirror": {"enabled": true, "copies": 2}}),
    )
    .await;
    ais_e2e::put_many(&c, &bck, M, obj, size).await;
    let mps = cl.mountpaths();
    assert_eq!(mps.len(), 2);
    std::fs::remove_dir_all(&mps[1]).unwrap();
    for i in 0..M {
        let (_, b) = c
            .get_object(&bck, &obj(i), None)
            .await
            .unwrap_or_else(|e| panic!("GET {} after losing a mountpath: {e}", obj(i)));
        assert!(
            b[..] == data(i as u64, size(i))[..],
            "{}: wrong bytes",
            obj(i)
        );
    }
    let avail = reqwest::Client::new()
        .get(format!("{ep}/v1/reverse/daemon?what=mountpaths"))
        .header("Ais-Node-Id", &tid)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let avail: Vec<&str> = avail["available"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let kept = std::fs::canonicalize(&mps[0]).unwrap();
    assert_eq!(
        avail,
        vec![kept.to_str().unwrap()],
        "lost mountpath disabled"
    );
    assert_eq!(
        count_files(&mps[0].join("@ais").join(&bck.name).join("%ob")),
        M,
        "every object on the remaining mountpath"
    );
}
