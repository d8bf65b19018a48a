//! The S3 API, shared by both roles: parsing a request into bucket, key and operation
//! (path-style `/s3/B/K`, root `/B/K`, or virtual-hosted `Host: B.host`), authentication
//! against the configured access keys, and S3-shaped replies and errors.

use crate::web::{self, Req, Resp};
use ais_core::{Bck, ErrKind, Error};
use ais_s3::route::{self, Op, Query};
use ais_s3::sigv4::{self, Auth};
use ais_s3::{S3Error, S3ErrorCode};
use http::{HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of the path-style S3 API.
pub(crate) const PREFIX: &str = "/s3";
/// Region reported to clients (HeadBucket, GetBucketLocation); any region is accepted.
pub(crate) const REGION: &str = "us-east-1";
/// A parsed S3 request.
pub(crate) struct S3Req {
    /// The request (raw path and query, headers, body).
    pub(crate) req: Req,
    /// Bucket, if any.
    pub(crate) bucket: Option<String>,
    /// Object key, if any.
    pub(crate) key: Option<String>,
    /// Decoded query.
    pub(crate) q: Query,
    /// The operation.
    pub(crate) op: Op,
    /// Virtual-hosted addressing (the bucket came from `Host`).
    pub(crate) vhost: bool,
}

impl S3Req {
    /// Parses and classifies; `has_bucket` tells whether a virtual-hosted bucket exists.
    pub(crate) fn parse(
        req: http::Request<Incoming>,
        remote: SocketAddr,
        has_bucket: impl Fn(&str) -> bool,
        vhost_domains: &[String],
    ) -> Result<S3Req, (S3Error, Method, String)> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let fail = |e: S3Error| (e, method.clone(), path.clone());
        let req = Req::parse_raw(req, remote).map_err(|e| fail(from_ais(&e)))?;
        let rest = match req.raw_path.strip_prefix(PREFIX) {
            Some(r) if r.is_empty() || r.starts_with('/') => r,
            _ => req.raw_path.as_str(),
        };
        let mut vhost = false;
        let (bucket, key) = {
            match req
                .header("host")
                .filter(|h| vhost_allowed(h, vhost_domains))
                .and_then(route::vhost_bucket)
                .filter(|b| has_bucket(b))
            {
                Some(b) => {
                    // The whole path is the key (no `/s3` prefix in this addressing).
                    let k = req.raw_path.trim_start_matches('/');
                    let key = (!k.is_empty())
                        .then(|| route::decode_path(k))
                        .transpose()
                        .map_err(fail)?;
                    vhost = true;
                    (Some(b.to_string()), key)
                }
                None => {
                    route::split_path(if rest.is_empty() { "/" } else { rest }).map_err(fail)?
                }
            }
        };
        let q = Query::parse(&req.raw_query).map_err(fail)?;
        let copy = req.headers.contains_key("x-amz-copy-source");
        let op =
            route::route(&req.method, bucket.as_deref(), key.as_deref(), &q, copy).map_err(fail)?;
        Ok(S3Req {
            req,
            bucket,
            key,
            q,
            op,
            vhost,
        })
    }

    /// Parses a request for node `ctl` (its BMD decides virtual-hosted addressing); a request
    /// that cannot be parsed is answered with its S3 error.
    pub(crate) fn parse_for(
        ctl: &crate::ctl::Ctl,
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> Result<S3Req, Box<Resp>> {
        let bmd = ctl.meta.bmd();
        S3Req::parse(
            req,
            remote,
            |b| bucket_exists(&bmd, b),
            &ctl.s3_vhost_domains,
        )
        .map_err(|(e, m, p)| Box::new(error_resp(&e, &m, &p)))
    }

    /// The bucket (S3 buckets are `ais://` buckets of the global namespace).
    pub(crate) fn bck(&self) -> Result<Bck, S3Error> {
        let name = self.bucket.as_deref().unwrap_or("");
        Bck::new(name, ais_core::Provider::Ais)
            .map_err(|e| S3Error::new(S3ErrorCode::InvalidBucketName, e.msg))
    }

    /// The key, validated as an AIS object name.
    pub(crate) fn key(&self) -> Result<&str, S3Error> {
        let k = self.key.as_deref().unwrap_or("");
        ais_core::name::validate_obj_name(k, false)
            .map_err(|e| S3Error::new(S3ErrorCode::InvalidArgument, e.msg))?;
        Ok(k)
    }

    /// Verifies the signature against `keys` (access key → secret); none configured means
    /// signatures are not checked.
    pub(crate) fn authenticate(
        &self,
        keys: &std::collections::BTreeMap<String, String>,
    ) -> Result<Auth, S3Error> {
        let r = sigv4::Request {
            method: self.req.method.as_str(),
            path: &self.req.raw_path,
            query: &self.req.raw_query,
            headers: &self.req.headers,
        };
        let now = std::time::SystemTime::now();
        let secret_of = |ak: &str| keys.get(ak).cloned();
        if ais_s3::sigv2::is_v2(&r) {
            // Clients sign `/bucket/key`: without an endpoint path prefix, with the bucket
            // even when it is in `Host`; some sign the path as sent.
            let rest = match self.req.raw_path.strip_prefix(PREFIX) {
                Some(r) if r.is_empty() || r.starts_with('/') => r,
                _ => self.req.raw_path.as_str(),
            };
            let canonical = match (&self.bucket, self.vhost) {
                (Some(b), true) => format!("/{b}{rest}"),
                _ => rest.to_string(),
            };
            // Virtual-hosted: only `/bucket/key` (the unsigned Host chose the bucket, so the
            // path as sent must not be accepted on its own); path-style: also the path as sent
            // (it names the same bucket).
            let as_sent = self.req.raw_path.as_str();
            let cands: &[&str] = if self.vhost {
                &[canonical.as_str()]
            } else {
                &[canonical.as_str(), as_sent]
            };
            return ais_s3::sigv2::verify(&r, cands, now, !keys.is_empty(), &secret_of);
        }
        sigv4::verify(&r, now, !keys.is_empty(), &secret_of)
    }

    /// `/bucket/key` for error bodies.
    pub(crate) fn resource(&self) -> String {
        match (&self.bucket, &self.key) {
            (Some(b), Some(k)) => format!("/{b}/{k}"),
            (Some(b), None) => format!("/{b}"),
            _ => "/".into(),
        }
    }
}

/// Domains under which `Host: <bucket>.<domain>` selects virtual-hosted addressing: `localhost`
/// and the comma-separated `AIS_S3_VHOST_DOMAINS` of the node's environment. Any other host is
/// path-style, so a bucket named like a host label cannot capture path-style requests.
pub(crate) fn vhost_domains_from_env() -> Vec<String> {
    let mut v = vec!["localhost".to_string()];
    if let Ok(s) = std::env::var("AIS_S3_VHOST_DOMAINS") {
        v.extend(
            s.split(',')
                .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty()),
        );
    }
    v
}

fn vhost_allowed(host: &str, domains: &[String]) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let Some((_, rest)) = name.split_once('.') else {
        return false;
    };
    domains.iter().any(|d| rest.eq_ignore_ascii_case(d))
}

/// Whether `name` is an existing `ais://` bucket (virtual-hosted addressing).
pub(crate) fn bucket_exists(bmd: &ais_meta::Bmd, name: &str) -> bool {
    Bck::new(name, ais_core::Provider::Ais).is_ok_and(|b| bmd.get(&b).is_some())
}

/// The S3 error for an AIS error.
pub(crate) fn from_ais(e: &Error) -> S3Error {
    let code = match e.kind() {
        ErrKind::BadRequest => S3ErrorCode::InvalidArgument,
        ErrKind::BckNotFound => S3ErrorCode::NoSuchBucket,
        ErrKind::NotFound => S3ErrorCode::NoSuchKey,
        ErrKind::BckAlreadyExists => S3ErrorCode::BucketAlreadyOwnedByYou,
        ErrKind::Conflict => S3ErrorCode::InvalidRequest,
        ErrKind::BadChecksum => S3ErrorCode::BadDigest,
        ErrKind::RangeNotSatisfiable => S3ErrorCode::InvalidRange,
        ErrKind::NotImplemented => S3ErrorCode::NotImplemented,
        ErrKind::MethodNotAllowed => S3ErrorCode::MethodNotAllowed,
        ErrKind::Forbidden => S3ErrorCode::AccessDenied,
        ErrKind::OutOfSpace => S3ErrorCode::InternalError,
        ErrKind::Unavailable => S3ErrorCode::ServiceUnavailable,
        _ => S3ErrorCode::InternalError,
    };
    S3Error::new(code, e.msg.clone())
}

static REQ_SEQ: AtomicU64 = AtomicU64::new(0);

/// A request id: time and a per-process sequence number (hex).
pub(crate) fn request_id() -> String {
    format!(
        "{:X}{:04X}",
        ais_core::time::now_nanos() as u64,
        REQ_SEQ.fetch_add(1, Ordering::Relaxed) & 0xFFFF
    )
}

/// The S3 error reply: XML body (none for HEAD and 304), `x-amz-request-id`.
pub(crate) fn error_resp(e: &S3Error, method: &Method, resource: &str) -> Resp {
    let rid = request_id();
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = if *method == Method::HEAD || status == StatusCode::NOT_MODIFIED {
        http::Response::new(web::empty())
    } else {
        web::with_ct(
            http::Response::new(web::full(e.to_xml(resource, &rid))),
            "application/xml",
        )
    };
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&rid) {
        r.headers_mut().insert("x-amz-request-id", v);
    }
    if e.code == S3ErrorCode::MethodNotAllowed {
        r.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static("DELETE, GET, HEAD, POST, PUT"),
        );
    }
    if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
        tracing::warn!(%method, resource, err = %e, "S3 request failed");
    } else {
        tracing::debug!(%method, resource, err = %e, "S3 request rejected");
    }
    r
}

/// 200 with an XML body.
pub(crate) fn xml(body: String) -> Resp {
    web::with_ct(http::Response::new(web::full(body)), "application/xml")
}

/// ISO 8601 with milliseconds (`2006-01-02T15:04:05.000Z`), as S3 XML carries times.
pub(crate) fn iso8601(nanos: i64) -> String {
    iso8601_from_rfc3339(&ais_core::time::rfc3339_nanos(nanos))
}

/// [`iso8601`] from an RFC 3339 UTC time (`...Z`, any fraction).
pub(crate) fn iso8601_from_rfc3339(s: &str) -> String {
    // "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z" → millisecond precision.
    let (head, frac) = match s.trim_end_matches('Z').split_once('.') {
        Some((h, f)) => (h.to_string(), f.to_string()),
        None => (s.trim_end_matches('Z').to_string(), String::new()),
    };
    let ms: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
    format!("{head}.{ms}Z")
}

/// Reads an XML request body, bounded by [`ais_s3::xml::MAX_BODY`].
pub(crate) async fn read_xml_body(req: &mut Req) -> Result<bytes::Bytes, S3Error> {
    use http_body_util::BodyExt;
    let Some(body) = req.body.take() else {
        return Ok(bytes::Bytes::new());
    };
    let limited = http_body_util::Limited::new(body, ais_s3::xml::MAX_BODY);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(S3Error::new(
            S3ErrorCode::MaxMessageLengthExceeded,
            format!("request body larger than {} bytes", ais_s3::xml::MAX_BODY),
        )),
        Err(e) => Err(S3Error::new(
            S3ErrorCode::IncompleteBody,
            format!("reading request body: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vhost_domains() {
        let d = vec!["localhost".to_string(), "s3.example.com".to_string()];
        assert!(vhost_allowed("b.localhost:8080", &d));
        assert!(vhost_allowed("b.s3.example.com", &d));
        assert!(!vhost_allowed("ais.example.com", &d));
        assert!(!vhost_allowed("localhost:8080", &d));
        assert!(!vhost_allowed("b.evil.localhost.com", &d));
    }

    #[test]
    fn times() {
        assert_eq!(iso8601(1_000_000_000), "1970-01-01T00:00:01.000Z");
        assert_eq!(
            iso8601_from_rfc3339("2024-05-01T10:00:00Z"),
            "2024-05-01T10:00:00.000Z"
        );
        assert_eq!(iso8601(1_500_000_123_456_789), "1970-01-18T08:40:00.123Z");
    }
}
