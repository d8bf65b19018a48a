//! Codec tests, and streams between a real `Sender` and a hyper receiver on loopback.

use super::*;
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn hdr(name: &str, size: u64) -> ObjHdr {
    ObjHdr {
        size,
        atime_ns: -5,
        provider: "ais".into(),
        namespace: "#ns".into(),
        bucket: "b".into(),
        name: name.into(),
        cksum_type: "xxhash".into(),
        cksum_value: "0123abcd".into(),
        version: "7".into(),
        custom: vec![("k".into(), "v".into()), ("ü".into(), String::new())],
        opaque: Bytes::from_static(b"op"),
        ..Default::default()
    }
}

#[test]
fn header_round_trip_and_malformed() {
    let mut h = hdr("dir/ö", 42);
    h.seq = 9;
    let b = h.encode().unwrap();
    let n = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
    assert_eq!(n, b.len() - 4);
    assert_eq!(ObjHdr::decode(b.slice(4..)).unwrap(), h);
    for cut in [0, 10, 30, b.len() - 5] {
        assert!(matches!(
            ObjHdr::decode(b.slice(4..cut.max(4))),
            Err(Error::Protocol(_))
        ));
    }
    let mut long = hdr("x", 1);
    long.name = "n".repeat(70_000);
    assert!(matches!(long.encode(), Err(Error::Payload(_))));
}

#[test]
fn acks_decode_whole_frames_only() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&encode_ack(1, &Ok(())));
    buf.extend_from_slice(&encode_ack(2, &Err("no space".into())));
    let third = encode_ack(3, &Ok(()));
    buf.extend_from_slice(&third[..5]);
    let got = decode_acks(&mut buf);
    assert_eq!(got, vec![(1, Ok(())), (2, Err("no space".into()))]);
    buf.extend_from_slice(&third[5..]);
    assert_eq!(decode_acks(&mut buf), vec![(3, Ok(()))]);
    assert!(buf.is_empty());
}

fn data(seed: u64, n: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// What the test receiver saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    stored: Mutex<HashMap<String, (ObjHdr, Bytes)>>,
    outstanding: AtomicUsize,
    max_outstanding: AtomicUsize,
    /// Drop the first request's connection after its first object.
    break_first: AtomicBool,
    ack_delay_ms: AtomicUsize,
}

/// A receiver: stores objects in memory, refuses names starting with `refuse`, acknowledges
/// after `ack_delay_ms` (out of order when objects overlap).
async fn receiver(seen: Arc<Seen>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/transport", l.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let nreq = seen.requests.fetch_add(1, Ordering::SeqCst);
                            let (acks, body) = acks(16);
                            let mut rd = ObjReader::new(req.into_body());
                            tokio::spawn(async move {
                                let mut first = true;
                                while let Ok(Some(h)) = rd.next_hdr().await {
                                    let got = rd.payload().collect().await.map(|c| c.to_bytes());
                                    if nreq == 0
                                        && seen.break_first.load(Ordering::SeqCst)
                                        && !first
                                    {
                                        return; // drops the body and the acks: the stream breaks
                                    }
                                    first = false;
                                    let now = seen.outstanding.fetch_add(1, Ordering::SeqCst) + 1;
                                    seen.max_outstanding.fetch_max(now, Ordering::SeqCst);
                                    let (seen, acks) = (seen.clone(), acks.clone());
                                    tokio::spawn(async move {
                                        let ms = seen.ack_delay_ms.load(Ordering::SeqCst) as u64;
                                        tokio::time::sleep(Duration::from_millis(ms)).await;
                                        let r = match got {
                                            Ok(_) if h.name.starts_with("refuse") => {
                                                Err(format!("{}: refused", h.name))
                                            }
                                            Ok(b) => {
                                                seen.stored
                                                    .lock()
                                                    .unwrap()
                                                    .insert(h.name.clone(), (h.clone(), b));
                                                Ok(())
                                            }
                                            Err(e) => Err(e.to_string()),
                                        };
                                        seen.outstanding.fetch_sub(1, Ordering::SeqCst);
                                        acks.send(h.seq, r).await;
                                    });
                                }
                            });
                            Ok::<_, std::convert::Infallible>(http::Response::new(body))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    url
}

fn sender(cfg: Config) -> Sender {
    Sender::new(cfg, http::HeaderMap::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_objects_one_stream() {
    let seen = Arc::new(Seen::default());
    seen.ack_delay_ms.store(1, Ordering::SeqCst);
    let url = receiver(seen.clone()).await;
    let tx = sender(Config::default());
    let sizes: Vec<usize> = (0..300).map(|i| (i * 7919) % (300 << 10)).collect();
    let results = futures_util::future::join_all(sizes.iter().enumerate().map(|(i, &n)| {
        let (tx, url) = (tx.clone(), url.clone());
        async move {
            let body = if i % 2 == 0 {
                SendBody::Bytes(data(i as u64, n))
            } else {
                // A real file read on demand.
                let p =
                    std::env::temp_dir().join(format!("ais-transport-{}-{i}", std::process::id()));
                tokio::fs::write(&p, data(i as u64, n)).await.unwrap();
                let f = tokio::fs::File::open(&p).await.unwrap();
                tokio::fs::remove_file(&p).await.unwrap();
                SendBody::from(f)
            };
            tx.send(&url, hdr(&format!("o-{i}"), n as u64), body).await
        }
    }))
    .await;
    for r in &results {
        assert_eq!(r, &Ok(()));
    }
    assert_eq!(seen.requests.load(Ordering::SeqCst), 1, "one stream");
    let stored = seen.stored.lock().unwrap();
    assert_eq!(stored.len(), sizes.len());
    for (i, &n) in sizes.iter().enumerate() {
        let (h, b) = &stored[&format!("o-{i}")];
        assert_eq!(b, &data(i as u64, n), "o-{i}");
        assert_eq!(h.custom, hdr("", 0).custom);
        assert_eq!((h.version.as_str(), h.atime_ns), ("7", -5));
    }
    assert!(
        seen.max_outstanding.load(Ordering::SeqCst) > 1,
        "stores overlap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_is_per_object_and_in_flight_is_bounded() {
    let seen = Arc::new(Seen::default());
    seen.ack_delay_ms.store(20, Ordering::SeqCst);
    let url = receiver(seen.clone()).await;
    let tx = sender(Config {
        max_in_flight: 4,
        ..Config::default()
    });
    let results = futures_util::future::join_all((0..40).map(|i| {
        let (tx, url) = (tx.clone(), url.clone());
        async move {
            let name = if i % 10 == 3 {
                format!("refuse-{i}")
            } else {
                format!("o-{i}")
            };
            (
                name.clone(),
                tx.send(&url, hdr(&name, 1000), data(i, 1000).into()).await,
            )
        }
    }))
    .await;
    for (name, r) in results {
        if name.starts_with("refuse") {
            assert_eq!(r, Err(Error::Refused(format!("{name}: refused"))));
        } else {
            assert_eq!(r, Ok(()), "{name}");
        }
    }
    assert_eq!(seen.stored.lock().unwrap().len(), 36);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 1);
    let max = seen.max_outstanding.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&max),
        "unacknowledged at the receiver: {max}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_stream_fails_pending_then_reopens() {
    let seen = Arc::new(Seen::default());
    seen.break_first.store(true, Ordering::SeqCst);
    seen.ack_delay_ms.store(50, Ordering::SeqCst);
    let url = receiver(seen.clone()).await;
    let tx = sender(Config::default());
    let results = futures_util::future::join_all((0..8).map(|i| {
        let (tx, url) = (tx.clone(), url.clone());
        async move {
            tx.send(&url, hdr(&format!("o-{i}"), 10), data(i, 10).into())
                .await
        }
    }))
    .await;
    let broken = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Broken { .. })))
        .count();
    assert!(broken >= 7, "{results:?}");
    // The next send opens a new stream and succeeds.
    assert_eq!(
        tx.send(&url, hdr("after", 3), data(1, 3).into()).await,
        Ok(())
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);
    assert!(seen.stored.lock().unwrap().contains_key("after"));

    // Nobody listening: a clear error, quickly.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/transport", l.local_addr().unwrap())
    };
    let t0 = Instant::now();
    let r = tx.send(&dead, hdr("x", 1), data(1, 1).into()).await;
    assert!(matches!(r, Err(Error::Broken { .. })), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_payload_breaks_and_idle_stream_closes() {
    let seen = Arc::new(Seen::default());
    let url = receiver(seen.clone()).await;
    let tx = sender(Config {
        idle: Duration::from_millis(100),
        ..Config::default()
    });
    let r = tx.send(&url, hdr("short", 100), data(1, 50).into()).await;
    assert!(matches!(r, Err(Error::Broken { .. })), "{r:?}");
    assert!(!seen.stored.lock().unwrap().contains_key("short"));
    assert_eq!(
        tx.send(&url, hdr("ok", 100), data(1, 100).into()).await,
        Ok(())
    );
    let t0 = Instant::now();
    while tx.streams() > 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "idle stream not closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = seen.requests.load(Ordering::SeqCst);
    assert_eq!(
        tx.send(&url, hdr("again", 1), data(2, 1).into()).await,
        Ok(())
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), before + 1);
}
