//! Helpers shared by the proxy and target handlers.

use crate::web::Req;
use ais_core::serde_util::str_int;
use ais_core::{Bck, Error, Namespace, Provider};
use ais_meta::{Bmd, Smap};
use serde::Serialize;

/// The bucket named by path item `name` and the `provider`/`namespace` query.
pub(crate) fn req_bck(req: &Req, name: &str) -> Result<Bck, Error> {
    let b = Bck {
        name: name.to_string(),
        provider: Provider::parse(req.q(ais_core::wire::qparam::PROVIDER))?,
        namespace: Namespace::parse(req.q(ais_core::wire::qparam::NAMESPACE))?,
    };
    b.validate()?;
    Ok(b)
}

/// Object name from path items `[.., bucket, obj...]` starting at `from`.
pub(crate) fn obj_name(req: &Req, from: usize) -> String {
    if req.items.len() <= from {
        return String::new();
    }
    req.items[from..].join("/")
}

/// Rejects any method other than those listed.
pub(crate) fn method_not_allowed(req: &Req) -> Error {
    Error::new(
        ais_core::ErrKind::MethodNotAllowed,
        format!("method {} not allowed on {}", req.method, req.raw_path),
    )
}

/// Rejects an unknown path.
pub(crate) fn bad_path(req: &Req) -> Error {
    Error::bad_request(format!("invalid URL path \"{}\"", req.raw_path))
}

#[derive(Serialize)]
struct PrimaryInfo {
    pub_url: String,
    control_url: String,
    id: String,
}

#[derive(Serialize)]
struct SmapInfo {
    #[serde(rename = "Primary")]
    primary: PrimaryInfo,
    uuid: String,
    #[serde(with = "str_int")]
    version: i64,
}

#[derive(Serialize)]
struct Ver {
    #[serde(with = "str_int")]
    version: i64,
}

#[derive(Serialize)]
struct BmdInfo {
    uuid: String,
    #[serde(with = "str_int")]
    version: i64,
}

/// `NodeStateInfo` (health `cii`).
#[derive(Serialize)]
pub(crate) struct NodeStateInfo {
    smap: SmapInfo,
    bmd: BmdInfo,
    rmd: Ver,
    config: Ver,
    etlmd: Ver,
    flags: u64,
}

/// Node-state flags: cluster started / node started.
pub(crate) const NODE_STARTED_FLAGS: u64 = 2 | 4;

pub(crate) fn node_state_info(
    smap: &Smap,
    bmd: &Bmd,
    cfg_version: i64,
    flags: u64,
) -> NodeStateInfo {
    let p = smap.proxy_si.as_ref();
    NodeStateInfo {
        smap: SmapInfo {
            primary: PrimaryInfo {
                pub_url: p
                    .map(|p| p.public_net.direct_url.clone())
                    .unwrap_or_default(),
                control_url: p
                    .map(|p| p.intra_control_net.direct_url.clone())
                    .unwrap_or_default(),
                id: p.map(|p| p.daemon_id.clone()).unwrap_or_default(),
            },
            uuid: smap.uuid.clone(),
            version: smap.version,
        },
        bmd: BmdInfo {
            uuid: bmd.uuid.clone(),
            version: bmd.version,
        },
        rmd: Ver { version: 0 },
        config: Ver {
            version: cfg_version,
        },
        etlmd: Ver { version: 0 },
        flags,
    }
}

/// Adds `Ais-Node-Uptime`/`Ais-Cluster-Uptime` (ns).
pub(crate) fn uptime_headers(r: &mut crate::web::Resp, node_ns: u128, cluster_ns: u128) {
    let h = r.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(&node_ns.to_string()) {
        h.insert(ais_core::wire::hdr::NODE_UPTIME, v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&cluster_ns.to_string()) {
        h.insert(ais_core::wire::hdr::CLUSTER_UPTIME, v);
    }
}

/// Records one request in `op`: an error if it failed or answered >= 400, else its bytes and
/// time. Only atomic adds.
#[inline]
pub(crate) fn account(
    op: &ais_stats::Op,
    r: &Result<crate::web::Resp, ais_core::Error>,
    t0: std::time::Instant,
    bytes: u64,
) {
    match r {
        Ok(resp) if resp.status().as_u16() < 400 => op.ok(bytes, t0.elapsed()),
        _ => op.err(),
    }
}

/// `Content-Length` of a response (0 if absent).
pub(crate) fn resp_len(r: &Result<crate::web::Resp, ais_core::Error>) -> u64 {
    match r {
        Ok(resp) => resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// `name=value` pairs of a `set-config` query (without the `transient` flag).
pub(crate) fn config_kvs(req: &Req) -> Result<Vec<(String, String)>, ais_core::Error> {
    let kvs: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k.as_str() != "transient")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if kvs.is_empty() {
        return Err(ais_core::Error::bad_request(
            "set-config: expecting name=value query parameters",
        ));
    }
    Ok(kvs)
}

/// `PUT /v1/daemon/set-config?k=v`: this node only, in memory.
pub(crate) fn daemon_set_config(
    ctl: &crate::ctl::Ctl,
    req: &Req,
) -> Result<crate::web::Resp, ais_core::Error> {
    let kvs = config_kvs(req)?;
    let mut c = (*ctl.meta.config()).clone();
    c.set_by_path(&kvs)?;
    ctl.meta.set_local_transient(c);
    Ok(crate::web::ok())
}

/// The cloud backends the environment configures (see `ais_backend`); invalid settings are
/// logged and leave that provider without a backend.
pub(crate) fn backends_from_env() -> ais_backend::Backends {
    let (set, errs) = ais_backend::Backends::from_env_checked();
    for e in errs {
        tracing::warn!(err = %e, "cloud backend not configured");
    }
    if !set.providers().is_empty() {
        let p: Vec<&str> = set.providers().iter().map(|p| p.as_str()).collect();
        tracing::info!(providers = ?p, "cloud backends");
    }
    set
}

/// Remote (cloud or remote-AIS) buckets need a backend, which this cluster does not have yet.
pub(crate) fn no_backend(bck: &ais_core::Bck) -> ais_core::Error {
    if is_remote_ais(bck) {
        return ais_core::Error::new(
            ais_core::ErrKind::NotFound,
            format!(
                "bucket \"{}\": no remote AIS cluster is attached as \"{}\" (ais cluster remote-attach)",
                bck.cname(),
                bck.namespace.uuid
            ),
        );
    }
    ais_core::Error::new(
        ais_core::ErrKind::NotImplemented,
        format!(
            "bucket \"{}\": remote backends are not configured",
            bck.cname()
        ),
    )
}

/// Whether `bck` lives in a remote AIS cluster (`ais://@alias/b`).
pub(crate) fn is_remote_ais(bck: &Bck) -> bool {
    bck.provider == Provider::Ais && !bck.namespace.uuid.is_empty()
}

/// The backend of remote bucket `bck`: the remote AIS cluster attached under its namespace's
/// alias (cluster config `backend.conf.ais`), or its cloud provider's (with the bucket's
/// `extra` props; see `Backends::for_bucket`). `None`: nothing serves it.
pub(crate) fn bucket_backend(
    ctl: &crate::ctl::Ctl,
    backends: &ais_backend::Backends,
    bck: &Bck,
    extra: Option<&serde_json::Value>,
) -> Result<Option<ais_backend::Backend>, Error> {
    if is_remote_ais(bck) {
        let attached = ctl.meta.config().backend.remote_ais();
        return match attached.get(&bck.namespace.uuid).and_then(|u| u.first()) {
            Some(url) => backends
                .remote_ais(&bck.namespace.uuid, url)
                .map(Some)
                .map_err(crate::err::backend_err),
            None => Ok(None),
        };
    }
    backends
        .for_bucket(bck.provider, extra)
        .map_err(crate::err::backend_err)
}

/// Whether [`bucket_backend`] has a backend for `bck` (without making one).
pub(crate) fn serves(
    ctl: &crate::ctl::Ctl,
    backends: &ais_backend::Backends,
    bck: &Bck,
    extra: Option<&serde_json::Value>,
) -> bool {
    if is_remote_ais(bck) {
        return ctl
            .meta
            .config()
            .backend
            .has_remote_ais(&bck.namespace.uuid);
    }
    backends.serves(bck.provider, extra)
}

/// Characters percent-encoded in object names placed in URL paths (Python `quote` with `/` safe).
pub(crate) const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');
