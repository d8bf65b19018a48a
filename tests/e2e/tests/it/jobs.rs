//! Jobs: a running bucket copy is aborted through the jobs API and stops cleanly.

use ais_api::Client;
use ais_core::{Bck, Provider};
use ais_e2e::{bucket_name, data, shared};
use std::time::Duration;

const N: usize = 6000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abort_running_copy() {
    let ep = shared().endpoint.clone();
    let c = Client::new(&ep).unwrap();
    let src = Bck::new(&bucket_name("abort-src"), Provider::Ais).unwrap();
    let dst = Bck::new(&bucket_name("abort-dst"), Provider::Ais).unwrap();
    c.create_bucket(&src).await.unwrap();
    ais_e2e::put_many(&c, &src, N, |i| format!("o-{i:05}"), |_| 4096).await;

    let http = reqwest::Client::new();
    let r = http
        .post(format!("{ep}/v1/buckets/{}?provider=ais&bck_to=ais/@%23/{}/", src.name, dst.name))
        .json(&serde_json::json!({"action": "copy-bck", "name": "", "value": {"prefix": "", "prepend": "", "dry_run": false, "force": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let id = r.text().await.unwrap();
    let r = http
        .put(format!("{ep}/v1/cluster"))
        .json(&serde_json::json!({"action": "stop", "name": "", "value": {"ID": id, "Kind": "copy-bck"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let st = c.job_status(&id).await.unwrap();
    assert!(st.aborted && st.end_time != 0, "{st:?}");

    // The copy stops: the destination stops growing well short of the source.
    let count = || async {
        c.list_objects_all(&dst, "", "name")
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (mut last, mut stable) = (usize::MAX, 0);
    let settled = loop {
        let n = count().await;
        if n == last {
            stable += 1;
        } else {
            (last, stable) = (n, 0);
        }
        if stable >= 5 {
            break n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "copy keeps going after abort ({n} copied)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        settled < N,
        "copy was not stopped ({settled} of {N} copied)"
    );
    // Whatever was copied is whole.
    for e in c
        .list_objects_all(&dst, "", "name,size")
        .await
        .unwrap()
        .iter()
        .take(50)
    {
        let i: u64 = e.name[2..].parse().unwrap();
        assert_eq!(
            &c.get_object(&dst, &e.name, None).await.unwrap().1[..],
            &data(i, 4096)[..]
        );
    }
    c.destroy_bucket(&dst).await.unwrap();
    c.destroy_bucket(&src).await.unwrap();
}
