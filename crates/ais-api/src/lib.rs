//! `ais-api`: a Rust client for the AIStore native HTTP API.
//!
//! Talks to any proxy (gateway) and follows its redirects to the owning target, exactly like
//! the official Python SDK and Go API; [`Client::get_object_direct`] computes HRW on the client
//! from the cluster map and reads straight from the target.
//!
//! Errors carry the server's HTTP status and its AIS error body ([`Error::Http`]).
//!
//! ```no_run
//! # async fn f() -> Result<(), ais_api::Error> {
//! use ais_api::Client;
//! use ais_core::{Bck, Provider};
//! let c = Client::new("http://127.0.0.1:8080")?;
//! let bck = Bck::new("demo", Provider::Ais).unwrap();
//! c.create_bucket(&bck).await?;
//! c.put_object(&bck, "a/b.txt", bytes::Bytes::from_static(b"hello"), None).await?;
//! let (attrs, data) = c.get_object(&bck, "a/b.txt", None).await?;
//! assert_eq!(&data[..], b"hello");
//! assert_eq!(attrs.cksum.unwrap().value, "26c7827d889f6da3");
//! # Ok(()) }
//! ```

use ais_core::wire::{self, ActMsg, JobStatus, ListRange, LsoEnt, LsoMsg, LsoRes, hdr};
use ais_core::{Bck, Cksum, CksumType, ErrKind, ErrorBody, Provider};
use ais_meta::{Bprops, Smap};
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Characters left as-is in object names in URLs (as Python's `quote(name)`): `-_.~/`.
const OBJ_NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Client errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cluster answered with an error status.
    #[error("HTTP {status}: {}", body.message)]
    Http {
        /// HTTP status.
        status: u16,
        /// AIS error body (message only, when the reply was not JSON).
        body: Box<ErrorBody>,
    },
    /// Connection or protocol failure.
    #[error("transport: {0}")]
    Transport(String),
    /// A reply could not be decoded.
    #[error("decode: {0}")]
    Decode(String),
    /// A wait ran out of time.
    #[error("timeout: {0}")]
    Timeout(String),
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrKind {
        match self {
            Error::Http { status, body } => match status {
                404 if body.message.contains("bucket")
                    && !body.message.contains("does not exist in") =>
                {
                    if body.tcode == "ErrBckNotFound" || body.message.starts_with("bucket") {
                        ErrKind::BckNotFound
                    } else {
                        ErrKind::NotFound
                    }
                }
                404 => ErrKind::NotFound,
                409 if body.tcode == "ErrBucketAlreadyExists" => ErrKind::BckAlreadyExists,
                409 => ErrKind::Conflict,
                416 => ErrKind::RangeNotSatisfiable,
                400 if body.tcode == "ErrInvalidCksum" => ErrKind::BadChecksum,
                400 => ErrKind::BadRequest,
                403 => ErrKind::Forbidden,
                405 => ErrKind::MethodNotAllowed,
                501 => ErrKind::NotImplemented,
                503 => ErrKind::Unavailable,
                507 => ErrKind::OutOfSpace,
                _ => ErrKind::Internal,
            },
            Error::Transport(_) | Error::Timeout(_) => ErrKind::Unavailable,
            Error::Decode(_) => ErrKind::Internal,
        }
    }
    /// HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// Whether retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }
}

fn transport(e: reqwest::Error) -> Error {
    Error::Transport(e.to_string())
}

/// Object attributes from GET/HEAD/PUT reply headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjAttrs {
    /// Size (HEAD: `Content-Length`; GET: body length).
    pub size: u64,
    /// Stored checksum.
    pub cksum: Option<Cksum>,
    /// Access time, unix ns.
    pub atime_ns: i64,
    /// Version.
    pub version: String,
    /// `t[TID]:mountpath` (HEAD with `location`).
    pub location: String,
    /// Custom metadata.
    pub custom: Vec<(String, String)>,
    /// Whether the object is present in the cluster (HEAD).
    pub present: bool,
}

impl ObjAttrs {
    fn from_headers(h: &reqwest::header::HeaderMap) -> ObjAttrs {
        let s = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let cksum = match CksumType::parse(&s(hdr::CKSUM_TYPE)) {
            Ok(ty) if ty != CksumType::None => Some(Cksum {
                ty,
                value: s(hdr::CKSUM_VALUE),
            }),
            _ => None,
        };
        ObjAttrs {
            size: s("content-length").parse().unwrap_or(0),
            cksum,
            atime_ns: s(hdr::ATIME).parse().unwrap_or(0),
            version: s(hdr::VERSION),
            location: s(hdr::LOCATION),
            custom: h
                .get_all(hdr::CUSTOM_MD)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (k.to_string(), v.to_string())
                })
                .collect(),
            present: s(hdr::PRESENT) == "true",
        }
    }
}

/// Client of one AIS cluster endpoint (any proxy).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    smap: Arc<Mutex<Option<Arc<Smap>>>>,
}

/// The query parameters that name bucket `b` (`provider`, and `namespace` when not global).
pub fn bck_query(b: &Bck) -> Vec<(&'static str, String)> {
    let mut q = vec![(wire::qparam::PROVIDER, b.provider.as_str().to_string())];
    if !b.namespace.is_global() {
        q.push((wire::qparam::NAMESPACE, b.namespace.uname()));
    }
    q
}

impl Client {
    /// A client for `endpoint` (e.g. `http://127.0.0.1:8080`), with default timeouts.
    pub fn new(endpoint: &str) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(256)
            // shorter than the server's idle limit (60 s), so a pooled connection is never reused as it closes
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(transport)?;
        Ok(Self::with_http(endpoint, http))
    }

    /// A client using a caller-configured `reqwest::Client` (must follow redirects).
    pub fn with_http(endpoint: &str, http: reqwest::Client) -> Client {
        Client {
            http,
            base: endpoint.trim_end_matches('/').to_string(),
            smap: Arc::new(Mutex::new(None)),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.base)
    }

    fn obj_url(base: &str, bck: &Bck, obj: &str) -> String {
        format!(
            "{base}/v1/objects/{}/{}",
            bck.name,
            utf8_percent_encode(obj, OBJ_NAME)
        )
    }

    async fn check(r: reqwest::Response) -> Result<reqwest::Response, Error> {
        let status = r.status().as_u16();
        if status < 400 {
            return Ok(r);
        }
        let hdr_err = r
            .headers()
            .get(hdr::ERROR)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let b = r.bytes().await.map_err(transport)?;
        let text = hdr_err
            .map(String::into_bytes)
            .unwrap_or_else(|| b.to_vec());
        let body = Box::new(
            serde_json::from_slice::<ErrorBody>(&text).unwrap_or_else(|_| ErrorBody {
                message: String::from_utf8_lossy(&text).into_owned(),
                status,
                ..Default::default()
            }),
        );
        Err(Error::Http { status, body })
    }

    async fn json<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> Result<T, Error> {
        let b = Self::check(r).await?.bytes().await.map_err(transport)?;
        serde_json::from_slice(&b).map_err(|e| Error::Decode(e.to_string()))
    }

    /// `GET /v1/health`: Ok when the node answers 200.
    pub async fn health(&self, readiness: bool) -> Result<(), Error> {
        let q = if readiness { "?readiness=true" } else { "" };
        let r = self
            .http
            .get(format!("{}{q}", self.url("health")))
            .send()
            .await
            .map_err(transport)?;
        Self::check(r).await.map(|_| ())
    }

    /// The cluster map (also cached for direct reads).
    pub async fn smap(&self) -> Result<Arc<Smap>, Error> {
        let r = self
            .http
            .get(self.url("daemon"))
            .query(&[("what", "smap")])
            .send()
            .await
            .map_err(transport)?;
        let s: Arc<Smap> = Arc::new(Self::json(r).await?);
        *self.smap.lock().expect("smap cache") = Some(s.clone());
        Ok(s)
    }

    /// Lists buckets (all providers when `None`).
    pub async fn list_buckets(&self, provider: Option<Provider>) -> Result<Vec<Bck>, Error> {
        let p = provider.map(|p| p.as_str()).unwrap_or("");
        let r = self
            .http
            .get(self.url("buckets"))
            .query(&[("provider", p)])
            .json(&ActMsg::new(wire::act::LIST))
            .send()
            .await
            .map_err(transport)?;
        Self::json(r).await
    }

    /// Creates an ais bucket.
    pub async fn create_bucket(&self, bck: &Bck) -> Result<(), Error> {
        let r = self
            .http
            .post(self.url(&format!("buckets/{}", bck.name)))
            .query(&bck_query(bck))
            .json(&ActMsg::new(wire::act::CREATE_BCK))
            .send()
            .await
            .map_err(transport)?;
        Self::check(r).await.map(|_| ())
    }

    /// Destroys an ais bucket and all its objects.
    pub async fn destroy_bucket(&self, bck: &Bck) -> Result<(), Error> {
        let r = self
            .http
            .delete(self.url(&format!("buckets/{}", bck.name)))
            .query(&bck_query(bck))
            .json(&ActMsg::new(wire::act::DESTROY_BCK))
            .send()
            .await
            .map_err(transport)?;
        Self::check(r).await.map(|_| ())
    }

    /// Bucket properties (`HEAD /v1/buckets/NAME`).
    pub async fn head_bucket(&self, bck: &Bck) -> Result<Bprops, Error> {
        let r = self
            .http
            .head(self.url(&format!("buckets/{}", bck.name)))
            .query(&bck_query(bck))
            .send()
            .await
            .map_err(transport)?;
        let r = Self::check(r).await?;
        let p = r
            .headers()
            .get(hdr::BUCKET_PROPS)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        serde_json::from_str(p).map_err(|e| Error::Decode(format!("bucket props: {e}")))
    }

    /// PUTs an object; with `cksum`, the cluster verifies the data against it.
    pub async fn put_object(
        &self,
        bck: &Bck,
        obj: &str,
        data: Bytes,
        cksum: Option<&Cksum>,
    ) -> Result<ObjAttrs, Error> {
        let mut rb = self
            .http
            .put(Self::obj_url(&self.base, bck, obj))
            .query(&bck_query(bck))
            .body(data);
        if let Some(c) = cksum {
            rb = rb
                .header(hdr::CKSUM_TYPE, c.ty.as_str())
                .header(hdr::CKSUM_VALUE, &c.value);
        }
        let r = Self::check(rb.send().await.map_err(transport)?).await?;
        Ok(ObjAttrs::from_headers(r.headers()))
    }

    async fn get_from(
        &self,
        url: String,
        bck: &Bck,
        range: Option<&str>,
    ) -> Result<(ObjAttrs, Bytes), Error> {
        let mut rb = self.http.get(url).query(&bck_query(bck));
        if let Some(r) = range {
            rb = rb.header("range", r);
        }
        let r = Self::check(rb.send().await.map_err(transport)?).await?;
        let mut attrs = ObjAttrs::from_headers(r.headers());
        let b = r.bytes().await.map_err(transport)?;
        attrs.size = b.len() as u64;
        Ok((attrs, b))
    }

    /// GETs an object (or a `Range` such as `bytes=10-99`) through the proxy.
    pub async fn get_object(
        &self,
        bck: &Bck,
        obj: &str,
        range: Option<&str>,
    ) -> Result<(ObjAttrs, Bytes), Error> {
        self.get_from(Self::obj_url(&self.base, bck, obj), bck, range)
            .await
    }

    /// GETs an object straight from its HRW target, using the (cached) cluster map.
    pub async fn get_object_direct(
        &self,
        bck: &Bck,
        obj: &str,
        range: Option<&str>,
    ) -> Result<(ObjAttrs, Bytes), Error> {
        let cached = self.smap.lock().expect("smap cache").clone();
        let smap = match cached {
            Some(s) => s,
            None => self.smap().await?,
        };
        let t = smap
            .hrw_target(&bck.uname(obj))
            .map_err(|e| Error::Decode(e.to_string()))?;
        self.get_from(
            Self::obj_url(&t.public_net.direct_url, bck, obj),
            bck,
            range,
        )
        .await
    }

    /// HEADs an object, asking for `props` (e.g. `name,size,checksum,version,location`).
    pub async fn head_object(&self, bck: &Bck, obj: &str, props: &str) -> Result<ObjAttrs, Error> {
        let mut q = bck_query(bck);
        q.push((wire::qparam::PROPS, props.to_string()));
        let r = self
            .http
            .head(Self::obj_url(&self.base, bck, obj))
            .query(&q)
            .send()
            .await
            .map_err(transport)?;
        let r = Self::check(r).await?;
        Ok(ObjAttrs::from_headers(r.headers()))
    }

    /// Deletes an object.
    pub async fn delete_object(&self, bck: &Bck, obj: &str) -> Result<(), Error> {
        let r = self
            .http
            .delete(Self::obj_url(&self.base, bck, obj))
            .query(&bck_query(bck))
            .send()
            .await
            .map_err(transport)?;
        Self::check(r).await.map(|_| ())
    }

    /// One page of a listing.
    pub async fn list_objects_page(&self, bck: &Bck, msg: &LsoMsg) -> Result<LsoRes, Error> {
        let body = ActMsg {
            action: wire::act::LIST.into(),
            name: String::new(),
            value: serde_json::to_value(msg).map_err(|e| Error::Decode(e.to_string()))?,
        };
        let r = self
            .http
            .get(self.url(&format!("buckets/{}", bck.name)))
            .query(&bck_query(bck))
            .header("accept", "application/msgpack")
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        let b = Self::check(r).await?.bytes().await.map_err(transport)?;
        rmp_serde::from_slice(&b).map_err(|e| Error::Decode(format!("listing: {e}")))
    }

    /// All objects with `prefix`, following continuation tokens.
    pub async fn list_objects_all(
        &self,
        bck: &Bck,
        prefix: &str,
        props: &str,
    ) -> Result<Vec<LsoEnt>, Error> {
        let msg = LsoMsg {
            prefix: prefix.into(),
            props: props.into(),
            ..Default::default()
        };
        self.list_objects_all_with(bck, msg).await
    }

    /// All objects `msg` selects (prefix, props, flags such as `ls_flag::CACHED`), following
    /// continuation tokens.
    pub async fn list_objects_all_with(
        &self,
        bck: &Bck,
        mut msg: LsoMsg,
    ) -> Result<Vec<LsoEnt>, Error> {
        let mut out = Vec::new();
        loop {
            let page = self.list_objects_page(bck, &msg).await?;
            out.extend(page.entries);
            if page.continuation_token.is_empty() {
                return Ok(out);
            }
            msg.uuid = page.uuid;
            msg.continuation_token = page.continuation_token;
        }
    }

    /// Deletes objects by list or template; returns the job id.
    pub async fn delete_objects(&self, bck: &Bck, sel: &ListRange) -> Result<String, Error> {
        let body = ActMsg {
            action: wire::act::DELETE_OBJECTS.into(),
            name: String::new(),
            value: serde_json::to_value(sel).map_err(|e| Error::Decode(e.to_string()))?,
        };
        let r = self
            .http
            .delete(self.url(&format!("buckets/{}", bck.name)))
            .query(&bck_query(bck))
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        Self::check(r).await?.text().await.map_err(transport)
    }

    /// Status of a job.
    pub async fn job_status(&self, id: &str) -> Result<JobStatus, Error> {
        let r = self
            .http
            .get(self.url("cluster"))
            .query(&[("what", "status")])
            .json(&serde_json::json!({"id": id}))
            .send()
            .await
            .map_err(transport)?;
        Self::json(r).await
    }

    /// Polls a job until it finishes (or `timeout`); returns its final status.
    pub async fn wait_job(&self, id: &str, timeout: Duration) -> Result<JobStatus, Error> {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(20);
        loop {
            let st = self.job_status(id).await?;
            if st.end_time != 0 {
                return Ok(st);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout(format!(
                    "job {id} still running after {timeout:?}"
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }
}
