//! Intra-cluster requests between nodes (join, metadata push, listing pages, batch deletes,
//! forwarding). JSON over HTTP on the control network for now; clients never call these paths.

use crate::web::{Body, Resp};
use ais_core::wire::{ListRange, LsoMsg, LsoRes};
use ais_core::{Bck, Error};
use ais_meta::{Bmd, Smap, Snode};
use ais_metasync::Revs;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Path of the join request on the primary.
pub(crate) const JOIN_PATH: &str = "/v1/cluster/join";
/// Path of a target's listing page.
pub(crate) const LIST_PATH: &str = "/v1/intra/list";
/// Path of a target's batch delete.
pub(crate) const DELETE_PATH: &str = "/v1/intra/delete";

/// HTTP header carrying the cluster secret on join requests.
pub(crate) const SECRET_HDR: &str = "ais-join-secret";

/// Reply to a join: the cluster's current revisions.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct JoinReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) smap: Option<Smap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) bmd: Option<Bmd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) config: Option<ais_core::config::ClusterConfig>,
}

impl From<Revs> for JoinReply {
    fn from(r: Revs) -> Self {
        JoinReply {
            smap: r.smap,
            bmd: r.bmd,
            config: r.config,
        }
    }
}

impl JoinReply {
    pub(crate) fn into_revs(self, sender: &str) -> Revs {
        Revs {
            smap: self.smap,
            bmd: self.bmd,
            config: self.config,
            sender: sender.to_string(),
        }
    }
}

/// A listing-page request to one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ListReq {
    pub(crate) bck: Bck,
    pub(crate) msg: LsoMsg,
    /// When not empty: instead of a page, which of these objects (a remote bucket's listing
    /// page) this target has — their entries, marked cached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) names: Vec<String>,
}

/// A batch-delete request to one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeleteReq {
    pub(crate) bck: Bck,
    pub(crate) sel: ListRange,
}

/// Multipart uploads in progress on one target (S3 ListMultipartUploads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ListUploadsReq {
    pub(crate) bck: Bck,
    #[serde(default)]
    pub(crate) prefix: String,
}

/// One multipart upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadInfo {
    pub(crate) key: String,
    pub(crate) upload_id: String,
    /// Start time, unix nanoseconds.
    pub(crate) initiated: i64,
}

/// A bucket-summary request to one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SummaryReq {
    pub(crate) bck: Bck,
    #[serde(default)]
    pub(crate) prefix: String,
}

/// One target's part of a bucket summary.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct SummaryPart {
    pub(crate) count: u64,
    pub(crate) size: u64,
    pub(crate) min: u64,
    pub(crate) max: u64,
    pub(crate) disks_total: u64,
    pub(crate) disks_used: u64,
}

/// What one target did for a batch.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct BatchResult {
    pub(crate) objs: i64,
    pub(crate) bytes: i64,
    pub(crate) errs: Vec<String>,
}

/// HTTP client for intra-cluster calls.
#[derive(Clone)]
pub(crate) struct Intra {
    client: reqwest::Client,
    caller: String,
    secret: String,
}

impl Intra {
    pub(crate) fn new(caller: &str, secret: &str, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client builds without TLS");
        Intra {
            client,
            caller: caller.to_string(),
            secret: secret.to_string(),
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: String,
        body: Vec<u8>,
    ) -> Result<T, Error> {
        let r = self
            .client
            .request(method, &url)
            .header(ais_core::wire::hdr::CALLER_ID, &self.caller)
            .header(SECRET_HDR, &self.secret)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::new(ais_core::ErrKind::Unavailable, format!("{url}: {e}")))?;
        let status = r.status();
        let ct_msgpack = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/msgpack");
        let b = r
            .bytes()
            .await
            .map_err(|e| Error::new(ais_core::ErrKind::Unavailable, format!("{url}: {e}")))?;
        if !status.is_success() {
            let msg = serde_json::from_slice::<ais_core::ErrorBody>(&b)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&b).into_owned());
            let kind = match status.as_u16() {
                404 => ais_core::ErrKind::NotFound,
                400 => ais_core::ErrKind::BadRequest,
                409 => ais_core::ErrKind::Conflict,
                403 => ais_core::ErrKind::Forbidden,
                503 => ais_core::ErrKind::Unavailable,
                _ => ais_core::ErrKind::Internal,
            };
            return Err(Error::new(kind, msg));
        }
        let decoded = if ct_msgpack {
            rmp_serde::from_slice(&b).map_err(|e| e.to_string())
        } else {
            serde_json::from_slice(&b).map_err(|e| e.to_string())
        };
        decoded.map_err(|e| Error::internal(format!("{url}: decode reply: {e}")))
    }

    fn json<T: Serialize>(v: &T) -> Vec<u8> {
        serde_json::to_vec(v).expect("intra messages serialize")
    }

    /// A request with the intra-cluster headers (caller id, cluster secret).
    pub(crate) fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .header(ais_core::wire::hdr::CALLER_ID, &self.caller)
            .header(SECRET_HDR, &self.secret)
    }

    /// Asks the proxy at public URL `url` to add `me` to the cluster.
    pub(crate) async fn join(&self, url: &str, me: &Snode) -> Result<Revs, Error> {
        let r: JoinReply = self
            .call(
                reqwest::Method::POST,
                format!("{url}{JOIN_PATH}"),
                Self::json(me),
            )
            .await?;
        Ok(r.into_revs(url))
    }

    /// One listing page from one target.
    pub(crate) async fn list_page(&self, t: &Snode, req: &ListReq) -> Result<LsoRes, Error> {
        let url = format!("{}{LIST_PATH}", t.intra_data_net.direct_url);
        self.call(reqwest::Method::POST, url, Self::json(req)).await
    }

    /// One target's part of a bucket summary.
    pub(crate) async fn summary(&self, t: &Snode, req: &SummaryReq) -> Result<SummaryPart, Error> {
        let url = format!("{}/v1/intra/summary", t.intra_data_net.direct_url);
        self.call(reqwest::Method::POST, url, Self::json(req)).await
    }

    /// Multipart uploads in progress on one target.
    pub(crate) async fn list_uploads(
        &self,
        t: &Snode,
        req: &ListUploadsReq,
    ) -> Result<Vec<UploadInfo>, Error> {
        let url = format!("{}/v1/intra/s3-uploads", t.intra_data_net.direct_url);
        self.call(reqwest::Method::POST, url, Self::json(req)).await
    }

    /// A batch delete on one target.
    pub(crate) async fn delete(&self, t: &Snode, req: &DeleteReq) -> Result<BatchResult, Error> {
        let url = format!("{}{DELETE_PATH}", t.intra_data_net.direct_url);
        self.call(reqwest::Method::POST, url, Self::json(req)).await
    }

    /// Forwards a client request verbatim to `base_url` + `path_and_query` and relays the reply.
    pub(crate) async fn forward(
        &self,
        method: http::Method,
        url: String,
        headers: &http::HeaderMap,
        body: Bytes,
    ) -> Result<Resp, Error> {
        let mut rb = self.client.request(method, &url).body(body);
        for (k, v) in headers {
            if k != http::header::HOST
                && k != http::header::CONTENT_LENGTH
                && k != http::header::CONNECTION
            {
                rb = rb.header(k, v);
            }
        }
        let r = rb.send().await.map_err(|e| {
            Error::new(
                ais_core::ErrKind::Unavailable,
                format!("forward to {url}: {e}"),
            )
        })?;
        let mut resp = http::Response::builder().status(r.status());
        for (k, v) in r.headers() {
            if k != http::header::TRANSFER_ENCODING && k != http::header::CONNECTION {
                resp = resp.header(k, v);
            }
        }
        let stream = r
            .bytes_stream()
            .map_ok(hyper::body::Frame::data)
            .map_err(std::io::Error::other);
        let body: Body = http_body_util::StreamBody::new(stream).boxed();
        resp.body(body)
            .map_err(|e| Error::internal(format!("forward reply: {e}")))
    }
}
