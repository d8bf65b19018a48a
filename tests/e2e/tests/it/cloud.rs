//! Remote buckets in front of real emulators of their clouds, started here on loopback:
//! `aws://` (moto server, installed in the test venv by `cargo xtask test`), `gcp://`
//! (gcp-storage-emulator, same venv) and `azure://` (Azurite, installed with npm by
//! `cargo xtask test`, found through `AIS_AZURITE`). For each, one scenario: the bucket is
//! discovered on first access, listed from the backend (also through the Python SDK), read
//! cold (fetched once, stored) then warm — still served with the emulator stopped — written
//! and deleted through to the backend, a change in the backend noticed with
//! `validate_warm_get`, prefetched and evicted by jobs; backend failures are clear errors.

use ais_api::Client;
use ais_backend::{AzureBackend, Backend, GcsBackend, S3Backend};
use ais_core::Bck;
use ais_e2e::{Cluster, data, wait_for};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const N: usize = 12;

fn obj(i: usize) -> String {
    format!("cold/o-{i:02}")
}

fn size(i: usize) -> usize {
    1 + i * 7717
}

/// An emulator child process, killed on drop (its scratch directory removed).
struct Emulator(Child, std::path::PathBuf);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

impl Emulator {
    /// Starts `cmd` (output discarded) in a scratch working directory of its own.
    fn start(name: &str, cmd: &mut Command) -> Emulator {
        let dir = std::env::temp_dir().join(format!("ais-e2e-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = cmd
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
        Emulator(child, dir)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The file under `dir` whose path ends with `suffix`.
fn find_file(dir: &std::path::Path, suffix: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, suffix) {
                return Some(f);
            }
        } else if p.to_string_lossy().ends_with(suffix) {
            return Some(p);
        }
    }
    None
}

/// Runs the `ais` CLI against `ep`: its stdout, or (with `ok = false`) nothing once it has
/// failed as expected; the test fails when the outcome is the other one.
fn ais_cli(ep: &str, args: &[&str], ok: bool) -> String {
    let cli = std::env::var("AIS_CLI_BIN").expect("AIS_CLI_BIN is set by `cargo xtask test`");
    let out = Command::new(cli)
        .args(args)
        .env("AIS_ENDPOINT", ep)
        .output()
        .unwrap();
    assert_eq!(
        out.status.success(),
        ok,
        "ais {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A program installed in the test venv, next to `AIS_PYTHON`.
fn venv_bin(name: &str) -> std::path::PathBuf {
    let python = std::env::var("AIS_PYTHON")
        .expect("AIS_PYTHON is not set: run with `cargo xtask test` (it installs the emulators)");
    std::path::Path::new(&python).with_file_name(name)
}

/// Waits until the emulator answers: creates the test bucket through `be`.
async fn create_bucket(be: &Backend, bucket: &str) {
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { be.create_bucket(bucket).await.ok() },
    )
    .await
    .unwrap_or_else(|| panic!("{:?} emulator up", be.provider()));
}

/// A moto server on a free loopback port: the child, its endpoint and a client of it.
fn start_moto(name: &str) -> (Emulator, String, Backend) {
    let port = free_port();
    let emu = Emulator::start(
        name,
        Command::new(venv_bin("moto_server")).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let be = Backend::S3(S3Backend::new(&endpoint, "us-east-1", "testing", "testing").unwrap());
    (emu, endpoint, be)
}

/// gcp-storage-emulator on a free loopback port: the child, its `host:port` and a client of it.
fn start_gcs(name: &str) -> (Emulator, String, Backend) {
    let port = free_port();
    let emu = Emulator::start(
        name,
        Command::new(venv_bin("gcp-storage-emulator")).args([
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--in-memory",
        ]),
    );
    let host = format!("127.0.0.1:{port}");
    let be = Backend::Gcs(GcsBackend::new(&format!("http://{host}"), None).unwrap());
    (emu, host, be)
}

/// Azurite (blob service) on a free loopback port: the child, the dev account's URL and a
/// client of it (the account's published key).
fn start_azurite(name: &str) -> (Emulator, String, Backend) {
    let azurite = std::env::var("AIS_AZURITE").expect(
        "AIS_AZURITE (the azurite-blob program) is not set: run with `cargo xtask test` (it installs Azurite)",
    );
    let port = free_port();
    let emu = Emulator::start(
        name,
        Command::new(azurite).args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]),
    );
    let url = format!(
        "http://127.0.0.1:{port}/{}",
        ais_backend::azure::DEV_ACCOUNT
    );
    let be = Backend::Azure(
        AzureBackend::new(
            &url,
            ais_backend::azure::DEV_ACCOUNT,
            ais_backend::azure::DEV_KEY,
        )
        .unwrap(),
    );
    (emu, url, be)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_bucket_cold_warm_write_through() {
    let (emu, endpoint, be) = start_moto("moto");
    scenario(
        be,
        emu,
        &[
            ("S3_ENDPOINT", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    )
    .await;
}

/// An `aws://` bucket with an S3 endpoint of its own (`extra.aws.endpoint`, set with the CLI):
/// from then on its listing, cold GETs and write-through PUTs go to that endpoint, not to the
/// cluster's `S3_ENDPOINT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_bucket_own_endpoint() {
    let (_a, ep_a, be_a) = start_moto("moto-a");
    let (_b, ep_b, be_b) = start_moto("moto-b");
    create_bucket(&be_a, "own").await;
    create_bucket(&be_b, "own").await;
    be_a.put_bytes("own", "x", bytes::Bytes::from_static(b"from A"))
        .await
        .unwrap();
    be_b.put_bytes("own", "y", bytes::Bytes::from_static(b"from B"))
        .await
        .unwrap();
    let cl = Cluster::deploy_with_env(
        1,
        1,
        "cloud-own",
        &[
            ("S3_ENDPOINT", &ep_a),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    )
    .expect("deploy 1 proxy + 1 target");
    let c = Client::new(&cl.endpoint).unwrap();
    let bck = Bck::new("own", ais_core::Provider::Aws).unwrap();
    let (_, b) = c.get_object(&bck, "x", None).await.unwrap();
    assert_eq!(&b[..], b"from A", "the cluster's S3_ENDPOINT");

    ais_cli(
        &cl.endpoint,
        &[
            "bucket",
            "props",
            "set",
            "s3://own",
            &format!("extra.aws.endpoint={ep_b}"),
        ],
        true,
    );
    let props = c.head_bucket(&bck).await.unwrap();
    assert_eq!(
        props.extra["aws"]["endpoint"].as_str(),
        Some(ep_b.as_str()),
        "{props:?}"
    );
    let names: Vec<String> = c
        .list_objects_all(&bck, "", "name")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["y"], "listed from the bucket's own endpoint");
    let (_, b) = c.get_object(&bck, "y", None).await.unwrap();
    assert_eq!(&b[..], b"from B");
    c.put_object(&bck, "z", bytes::Bytes::from_static(b"to B"), None)
        .await
        .unwrap();
    assert!(be_b.head("own", "z").await.is_ok(), "written through to B");
    assert!(matches!(
        be_a.head("own", "z").await,
        Err(ais_backend::Error::NotFound(_))
    ));
    // A bad endpoint is refused.
    ais_cli(
        &cl.endpoint,
        &[
            "bucket",
            "props",
            "set",
            "s3://own",
            "extra.aws.endpoint=ftp://x",
        ],
        false,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gcp_bucket_cold_warm_write_through() {
    let (emu, host, be) = start_gcs("gcs");
    scenario(be, emu, &[("STORAGE_EMULATOR_HOST", &host)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn azure_bucket_cold_warm_write_through() {
    let (emu, url, be) = start_azurite("azurite");
    // Azurite checks SharedKey signatures: a wrong key is refused.
    create_bucket(&be, "signed").await;
    let wrong = AzureBackend::new(&url, ais_backend::azure::DEV_ACCOUNT, "AAAA").unwrap();
    assert!(
        matches!(
            wrong.head_bucket("signed").await,
            Err(ais_backend::Error::Forbidden(..))
        ),
        "a request signed with a wrong key"
    );
    // A cluster whose credentials the backend refuses gives its clients a clear 403.
    {
        let bad = Cluster::deploy_with_env(
            1,
            1,
            "cloud-azure-badkey",
            &[
                ("AIS_AZURE_URL", &url),
                ("AZURE_STORAGE_ACCOUNT", ais_backend::azure::DEV_ACCOUNT),
                ("AZURE_STORAGE_KEY", "AAAA"),
            ],
        )
        .expect("deploy 1 proxy + 1 target");
        let c = Client::new(&bad.endpoint).unwrap();
        let bck = Bck::new("signed", ais_core::Provider::Azure).unwrap();
        let e = c.list_objects_all(&bck, "", "name").await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{e}");
        let e = c.get_object(&bck, "any", None).await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{e}");
        let r = reqwest::Client::new()
            .put(format!("{}/v1/cluster", bad.endpoint))
            .json(&serde_json::json!({"action": "shutdown", "name": "", "value": null}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    scenario(
        be,
        emu,
        &[
            ("AIS_AZURE_URL", &url),
            ("AZURE_STORAGE_ACCOUNT", ais_backend::azure::DEV_ACCOUNT),
            ("AZURE_STORAGE_KEY", ais_backend::azure::DEV_KEY),
        ],
    )
    .await;
}

/// Runs `openssl` (in `dir`), failing the test on error.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package openssl, installed by `cargo xtask test`)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An `aws://` bucket behind an `https://` endpoint (moto with a certificate of a test CA the
/// nodes trust through `SSL_CERT_FILE`): write-through PUT, evict, cold GET all over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_bucket_over_tls() {
    let dir = std::env::temp_dir().join(format!("ais-e2e-{}-moto-tls", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=ais-e2e-ca",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let port = free_port();
    let _emu = Emulator::start(
        "moto-tls",
        Command::new(venv_bin("moto_server")).args([
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-c",
            dir.join("leaf.pem").to_str().unwrap(),
            "-k",
            dir.join("leaf.key").to_str().unwrap(),
        ]),
    );
    let endpoint = format!("https://127.0.0.1:{port}");
    // The test's own client trusts the test CA only; moto takes unsigned requests.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let https = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            let r = https.put(format!("{endpoint}/tlsb")).send().await.ok()?;
            r.status().is_success().then_some(())
        },
    )
    .await
    .expect("moto over TLS up");

    let ca_file = dir.join("ca.pem");
    let cl = Cluster::deploy_with_env(
        1,
        1,
        "cloud-tls",
        &[
            ("S3_ENDPOINT", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("SSL_CERT_FILE", ca_file.to_str().unwrap()),
        ],
    )
    .expect("deploy 1 proxy + 1 target");
    let c = Client::new(&cl.endpoint).unwrap();
    let bck = Bck::new("tlsb", ais_core::Provider::Aws).unwrap();
    let body = data(9, 200_000);
    c.put_object(&bck, "over/tls", body.clone().into(), None)
        .await
        .expect("write-through PUT over TLS");
    // The only copy is the backend's once the cluster's is evicted: the cold GET proves the
    // write-through, and reads over TLS.
    let r = reqwest::Client::new()
        .delete(format!("{}/v1/buckets/tlsb?provider=aws", cl.endpoint))
        .json(
            &serde_json::json!({"action": "evict-listrange", "value": {"objnames": ["over/tls"]}}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let id = r.text().await.unwrap();
    c.wait_job(&id, Duration::from_secs(60)).await.unwrap();
    let (_, b) = c
        .get_object(&bck, "over/tls", None)
        .await
        .expect("cold GET over TLS");
    assert!(b[..] == body[..]);
    let names: Vec<String> = c
        .list_objects_all(&bck, "", "name")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["over/tls".to_string()]);
}

/// Stops a whole cluster (kill -9 of its nodes) when dropped.
struct Stopped(Cluster);

impl Drop for Stopped {
    fn drop(&mut self) {
        for n in self.0.nodes() {
            if n.alive() {
                n.kill9();
            }
        }
    }
}

/// `ais://@home/cloud`: a bucket of another AIS cluster (a second playground), attached by
/// alias; the same checks as the clouds, the home cluster standing in for the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remote_ais_cluster_cold_warm_write_through() {
    let home = Cluster::deploy_with(1, 1, "remais-home").expect("deploy the remote cluster");
    let url = home.endpoint.clone();
    let be = Backend::Ais(ais_backend::AisBackend::new("home", &url).unwrap());
    scenario_in(be, Stopped(home), &[], Some(("home", &url))).await;
}

/// The checks every provider passes, on bucket `cloud` of the emulator behind `be` (started,
/// stopped by dropping `emu` towards the end); `env` configures the nodes' backend.
async fn scenario<E>(be: Backend, emu: E, env: &[(&str, &str)]) {
    scenario_in(be, emu, env, None).await
}

/// [`scenario`]; with `remote = Some((alias, url))` the home is another AIS cluster, attached
/// under `alias` with the CLI (`ais cluster remote-attach`): the bucket is `ais://@alias/cloud`.
async fn scenario_in<E>(be: Backend, emu: E, env: &[(&str, &str)], remote: Option<(&str, &str)>) {
    let provider = be.provider();
    let prov = provider.as_str();
    let alias = remote.map(|(a, _)| a.to_string()).unwrap_or_default();
    let mk = |name: &str| {
        let mut b = Bck::new(name, provider).unwrap();
        b.namespace.uuid = alias.clone();
        b
    };
    // The bucket's query (provider, and the remote cluster's namespace) and CLI name.
    let bq_owned = if alias.is_empty() {
        format!("provider={prov}")
    } else {
        format!("provider={prov}&namespace=%40{alias}%23")
    };
    let bq = bq_owned.as_str();
    let scheme = if alias.is_empty() {
        format!("{}://cloud", provider.scheme())
    } else {
        format!("ais://@{alias}/cloud")
    };
    create_bucket(&be, "cloud").await;
    for i in 0..N {
        be.put_bytes("cloud", &obj(i), data(i as u64, size(i)).into())
            .await
            .unwrap();
    }

    let cl = Cluster::deploy_with_env(1, 2, &format!("cloud-{prov}"), env)
        .expect("deploy 1 proxy + 2 targets");
    let c = Client::new(&cl.endpoint).unwrap();
    let ep = cl.endpoint.clone();
    if let Some((alias, url)) = remote {
        ais_cli(
            &ep,
            &["cluster", "remote-attach", &format!("{alias}={url}")],
            true,
        );
        let text = ais_cli(&ep, &["show", "remote-cluster"], true);
        assert!(
            text.contains(alias) && text.contains(url) && text.contains("true"),
            "ais show remote-cluster: {text}"
        );
    }
    // Whether the cluster has the object (HEAD: `Ais-Present`).
    let present = |name: String| {
        let ep = ep.clone();
        async move {
            let r = reqwest::Client::new()
                .head(format!("{ep}/v1/objects/cloud/{name}?{bq}"))
                .send()
                .await
                .unwrap();
            r.headers()
                .get(ais_core::wire::hdr::PRESENT)
                .is_some_and(|v| v == "true")
        }
    };
    let bck = mk("cloud");

    // Discovered on first access, listed from the backend.
    let names: Vec<String> = c
        .list_objects_all(&bck, "cold/", "name,size")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, (0..N).map(obj).collect::<Vec<_>>());
    assert!(
        c.list_buckets(Some(provider))
            .await
            .unwrap()
            .iter()
            .any(|b| b.name == "cloud"),
        "remote bucket added to the BMD"
    );
    // The official Python SDK lists and reads it too (`provider="gcp"` etc.; a remote AIS
    // cluster's bucket by its namespace).
    let sdk = r#"
import sys
from aistore.sdk import Client
from aistore.sdk.types import Namespace
ns = Namespace(uuid=sys.argv[4], name="") if sys.argv[4] else None
b = Client(sys.argv[1]).bucket("cloud", provider=sys.argv[2], namespace=ns)
names = [e.name for e in b.list_all_objects(prefix="cold/")]
assert names == ["cold/o-%02d" % i for i in range(int(sys.argv[3]))], names
print(len(b.object("cold/o-05").get_reader().read_all()))
"#;
    let python = std::env::var("AIS_PYTHON").unwrap();
    let out = Command::new(&python)
        .args(["-c", sdk, &cl.endpoint, prov, &N.to_string(), &alias])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python SDK: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        size(5).to_string()
    );

    // Cold GET of the first half; HEAD of an uncached object answers from the backend.
    for i in 0..N / 2 {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert!(b[..] == data(i as u64, size(i))[..], "{}", obj(i));
    }
    let h = c.head_object(&bck, &obj(N - 1), "").await.unwrap();
    assert_eq!(h.size, size(N - 1) as u64);

    // Concurrent cold GETs of one object fetch it once (targets' get.cold.n moves by one).
    let targets: Vec<String> = c
        .smap()
        .await
        .unwrap()
        .tmap
        .values()
        .map(|t| t.public_net.direct_url.clone())
        .collect();
    let cold_count = || {
        let targets = targets.clone();
        async move {
            let mut n = 0;
            for t in &targets {
                let v: serde_json::Value = reqwest::get(format!("{t}/debug/vars"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                n += v["stats"]["get.cold.n"].as_i64().unwrap();
            }
            n
        }
    };
    let racer = data(77, 300_000);
    be.put_bytes("cloud", "race/one", racer.clone().into())
        .await
        .unwrap();
    // Streamed cold GETs count when their copy is committed, right after the last byte: wait
    // for the N/2 fetches of the reads above (each object once) before counting.
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { (cold_count().await >= (N / 2) as i64).then_some(()) },
    )
    .await
    .expect("cold GETs counted");
    let before = cold_count().await;
    assert_eq!(before, (N / 2) as i64, "one fetch per cold object");
    let gets = (0..8).map(|_| {
        let (c, bck) = (c.clone(), bck.clone());
        async move { c.get_object(&bck, "race/one", None).await.unwrap().1 }
    });
    for b in futures_util::future::join_all(gets).await {
        assert!(b[..] == racer[..]);
    }
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { (cold_count().await > before).then_some(()) },
    )
    .await
    .expect("cold GET counted");
    assert_eq!(
        cold_count().await,
        before + 1,
        "eight racing GETs, one fetch"
    );

    // Write-through PUT and DELETE.
    c.put_object(&bck, "new/obj", bytes::Bytes::from_static(b"through"), None)
        .await
        .unwrap();
    let (_, r) = be.get("cloud", "new/obj").await.unwrap();
    assert_eq!(&r.bytes().await.unwrap()[..], b"through");
    c.delete_object(&bck, &obj(0)).await.unwrap();
    assert!(matches!(
        be.head("cloud", &obj(0)).await,
        Err(ais_backend::Error::NotFound(_))
    ));
    let e = c
        .get_object(&bck, "no/such/object", None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    // A bucket the backend does not have is not discovered: 404.
    let e = c
        .list_objects_all(&mk("no-such-bucket"), "", "name")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");

    // Jobs: evict a cached object (its data goes, the backend keeps it); prefetch a range.
    let job = |method: reqwest::Method, action: &'static str, value: serde_json::Value| {
        let ep = ep.clone();
        async move {
            let r = reqwest::Client::new()
                .request(method, format!("{ep}/v1/buckets/cloud?{bq}"))
                .json(&serde_json::json!({"action": action, "value": value}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{action}: {}", r.status());
            r.text().await.unwrap()
        }
    };
    // A streamed cold GET commits its cached copy right after the last byte went out.
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { present(obj(1)).await.then_some(()) },
    )
    .await
    .expect("cold GET cached the object");
    let id = job(
        reqwest::Method::DELETE,
        "evict-listrange",
        serde_json::json!({"objnames": [obj(1)]}),
    )
    .await;
    let st = c.wait_job(&id, Duration::from_secs(60)).await.unwrap();
    assert!(st.err.is_empty(), "{st:?}");
    assert!(!present(obj(1)).await, "evicted");
    assert!(
        be.head("cloud", &obj(1)).await.is_ok(),
        "evict keeps the backend's object"
    );
    // Prefetch a range with the CLI (`ais prefetch ... --wait`).
    let template = format!("cold/o-{{{:02}..{:02}}}", N / 2, N - 2);
    let out = ais_cli(
        &ep,
        &["prefetch", &scheme, "--template", &template, "--wait"],
        true,
    );
    assert!(out.contains("prefetch-listrange"), "{out}");
    for i in N / 2..N - 1 {
        assert!(present(obj(i)).await, "{} prefetched", obj(i));
    }

    // Remote listings mark what the cluster has (EntryIsCached): the cold-read objects and the
    // prefetched ones, not the evicted or never-read ones; `ais ls --cached` lists only those.
    let want: Vec<String> = (2..N - 1).map(obj).collect();
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async {
            for n in &want {
                if !present(n.clone()).await {
                    return None;
                }
            }
            Some(())
        },
    )
    .await
    .expect("cold GETs and the prefetch cached the objects");
    let listed = c
        .list_objects_all(&bck, "cold/", "name,size")
        .await
        .unwrap();
    let cached: Vec<String> = listed
        .iter()
        .filter(|e| e.flags & ais_core::wire::ent_flag::IS_CACHED != 0)
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(cached, want, "listing marks the cached objects");
    assert_eq!(listed.len(), N - 1, "obj(0) was deleted");
    for (flag, expect) in [
        ("--cached", want.clone()),
        ("--not-cached", vec![obj(1), obj(N - 1)]),
    ] {
        let out = ais_cli(
            &ep,
            &["--json", "ls", &scheme, "--prefix", "cold/", flag],
            true,
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let names: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, expect, "ais ls {flag}");
    }

    // With versioning.validate_warm_get, a changed or deleted backend object is noticed.
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/cloud?{bq}"))
        .json(&serde_json::json!({"action": "set-bprops", "value":
            {"versioning": {"validate_warm_get": true}}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    be.put_bytes(
        "cloud",
        &obj(2),
        bytes::Bytes::from_static(b"changed in the cloud"),
    )
    .await
    .unwrap();
    let (_, b) = c.get_object(&bck, &obj(2), None).await.unwrap();
    assert_eq!(
        &b[..],
        b"changed in the cloud",
        "a changed ETag refreshes the cached copy"
    );
    be.delete("cloud", &obj(3)).await.unwrap();
    let e = c.get_object(&bck, &obj(3), None).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "deleted in the cloud: {e}");
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/cloud?{bq}"))
        .json(&serde_json::json!({"action": "set-bprops", "value":
            {"versioning": {"validate_warm_get": false}}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    // With checksum.validate_warm_get, a cached copy damaged on disk is fetched again.
    let r = reqwest::Client::new()
        .patch(format!("{ep}/v1/buckets/cloud?{bq}"))
        .json(&serde_json::json!({"action": "set-bprops", "value":
            {"checksum": {"validate_warm_get": true}}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let file = find_file(&cl.dir, &format!("%ob/{}", obj(4))).expect("the cached copy on disk");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let before = cold_count().await;
    let (_, b) = c.get_object(&bck, &obj(4), None).await.unwrap();
    assert!(
        b[..] == data(4, size(4))[..],
        "a damaged copy is not served"
    );
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { (cold_count().await > before).then_some(()) },
    )
    .await
    .expect("the damaged object fetched again");
    assert!(
        std::fs::read(&file).unwrap()[..] == data(4, size(4))[..],
        "repaired on disk"
    );

    // The emulator goes away: cached and prefetched objects are still served (warm GET never
    // touches the backend); evicted and never-fetched ones are a clear 503.
    drop(emu);
    for i in (4..N / 2).chain(N / 2..N - 1) {
        let (_, b) = c.get_object(&bck, &obj(i), None).await.unwrap();
        assert!(b[..] == data(i as u64, size(i))[..], "warm {}", obj(i));
    }
    let (_, b) = c.get_object(&bck, "new/obj", None).await.unwrap();
    assert_eq!(&b[..], b"through");
    for i in [1, N - 1] {
        let e = c.get_object(&bck, &obj(i), None).await.unwrap_err();
        assert_eq!(e.status(), Some(503), "{}: {e}", obj(i));
    }
    if let Some((alias, _)) = remote {
        ais_cli(&ep, &["cluster", "remote-detach", alias], true);
        let text = ais_cli(&ep, &["show", "remote-cluster"], true);
        assert!(text.contains("No remote clusters attached"), "{text}");
        let e = c.get_object(&bck, &obj(N - 1), None).await.unwrap_err();
        assert_eq!(e.status(), Some(404), "detached: {e}");
    }
}

/// One aisloader GET run over the objects of `bucket`: (ops/s, server CPU µs per GET).
fn aisloader_get(ep: &str, bucket: &str, pids: &[u32], secs: u32) -> (f64, f64) {
    let bin = std::env::var("AISLOADER_BIN").expect("AISLOADER_BIN");
    let cpu0 = ais_e2e::cpu_seconds(pids);
    let out = Command::new(bin)
        .args([
            &format!("-endpoint={ep}"),
            &format!("-bucket={bucket}"),
            &format!("-duration={secs}s"),
            "-numworkers=16",
            "-pctput=0",
            "-json",
        ])
        .output()
        .unwrap();
    let cpu = ais_e2e::cpu_seconds(pids) - cpu0;
    assert!(
        out.status.success(),
        "aisloader: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ops = v["get"]["ops"].as_f64().unwrap();
    assert!(ops > 0.0 && v["get"]["errors"] == 0, "{v}");
    (ops / v["duration_sec"].as_f64().unwrap(), cpu / ops * 1e6)
}

/// Figures for issue #9 (a measurement, not a test: nothing is asserted about them). Run with
/// release binaries:
///
/// ```sh
/// cargo build --profile perf -p aisnode -p aisloader
/// AISNODE_BIN=$PWD/target/perf/aisnode AISLOADER_BIN=$PWD/target/perf/aisloader \
///   cargo xtask test -p ais-e2e --test it cloud::remote_bucket_figures -- --ignored --nocapture
/// ```
///
/// For each provider: the mean time of a cold GET through the cluster against a direct read of
/// the same object from its emulator (interleaved, sequential), then warm GET throughput and
/// server CPU per GET with aisloader against an `ais://` bucket of the same objects
/// (interleaved, three rounds).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement: run by hand with release binaries"]
#[allow(clippy::print_stderr)]
async fn remote_bucket_figures() {
    const OBJS: usize = 300;
    const SIZE: usize = 16 << 10;
    let (moto, s3_ep, s3) = start_moto("fig-moto");
    let (gcs_emu, ghost, gcs) = start_gcs("fig-gcs");
    let (azurite, aurl, az) = start_azurite("fig-azurite");
    let home = Cluster::deploy_with(1, 1, "fig-home").expect("deploy the remote cluster");
    let remais = Backend::Ais(ais_backend::AisBackend::new("home", &home.endpoint).unwrap());
    let cl = Cluster::deploy_with_env(
        1,
        1,
        "fig",
        &[
            ("S3_ENDPOINT", &s3_ep),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("STORAGE_EMULATOR_HOST", &ghost),
            ("AIS_AZURE_URL", &aurl),
            ("AZURE_STORAGE_ACCOUNT", ais_backend::azure::DEV_ACCOUNT),
            ("AZURE_STORAGE_KEY", ais_backend::azure::DEV_KEY),
        ],
    )
    .expect("deploy the cluster");
    let ep = cl.endpoint.clone();
    ais_cli(
        &ep,
        &[
            "cluster",
            "remote-attach",
            &format!("home={}", home.endpoint),
        ],
        true,
    );
    let c = Client::new(&ep).unwrap();
    let pids: Vec<u32> = cl.nodes().iter().filter_map(|n| n.pid()).collect();
    let name = |i: usize| format!("f/o-{i:04}");
    let payload = |i: usize| bytes::Bytes::from(data(i as u64, SIZE));

    let local = Bck::new("figlocal", ais_core::Provider::Ais).unwrap();
    c.create_bucket(&local).await.unwrap();
    ais_e2e::put_many(&c, &local, OBJS, name, |_| SIZE).await;

    eprintln!(
        "FIGURE remote buckets: {OBJS} objects of {} KiB; 1 proxy + 1 target (release)",
        SIZE >> 10
    );
    let backends: [(&str, &Backend); 4] = [
        ("aws://fig", &s3),
        ("gcp://fig", &gcs),
        ("azure://fig", &az),
        ("ais://@home/fig", &remais),
    ];
    for (uri, be) in backends {
        create_bucket(be, "fig").await;
        for i in 0..OBJS {
            be.put_bytes("fig", &name(i), payload(i)).await.unwrap();
        }
        let (bck, _) = Bck::parse_uri(uri).unwrap();
        // Cold GET through the cluster vs a direct read from the backend, interleaved.
        let (mut direct, mut cold) = (Duration::ZERO, Duration::ZERO);
        for i in 0..OBJS {
            let t = std::time::Instant::now();
            let (_, r) = be.get("fig", &name(i)).await.unwrap();
            let b = r.bytes().await.unwrap();
            direct += t.elapsed();
            assert_eq!(b.len(), SIZE);
            let t = std::time::Instant::now();
            let (_, b) = c.get_object(&bck, &name(i), None).await.unwrap();
            cold += t.elapsed();
            assert_eq!(b[..], payload(i)[..]);
        }
        let t = std::time::Instant::now();
        for i in 0..OBJS {
            c.get_object(&bck, &name(i), None).await.unwrap();
        }
        let warm = t.elapsed();
        let per = |d: Duration| d.as_secs_f64() * 1e3 / OBJS as f64;
        eprintln!(
            "FIGURE {uri}: direct read {:.2} ms, cold GET {:.2} ms ({:.2}x), warm GET {:.2} ms ({:.2}x direct)",
            per(direct),
            per(cold),
            cold.as_secs_f64() / direct.as_secs_f64(),
            per(warm),
            warm.as_secs_f64() / direct.as_secs_f64()
        );
        // Warm GET throughput vs the ais:// bucket of the same objects, interleaved.
        for round in 1..=3 {
            let (lo, lc) = aisloader_get(&ep, "ais://figlocal", &pids, 6);
            let (ro, rc) = aisloader_get(&ep, uri, &pids, 6);
            eprintln!(
                "FIGURE {uri} warm GET round {round}: {ro:.0} vs ais:// {lo:.0} ops/s ({:.2}), CPU/op {rc:.0} vs {lc:.0} us",
                ro / lo
            );
        }
    }
    drop((moto, gcs_emu, azurite, home));
}
