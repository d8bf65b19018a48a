//! Which S3 operation a request is: from the method, bucket and key (path-style or
//! virtual-hosted), sub-resource query keys and a few headers.

use crate::{S3Error, S3ErrorCode};
use http::Method;
use percent_encoding::percent_decode_str;

/// A decoded query string: pairs in order (`+` is a space, as in forms and S3 clients).
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (without `?`). Invalid UTF-8 after decoding is an error.
    pub fn parse(raw: &str) -> Result<Query, S3Error> {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode_q(k)?, decode_q(v)?));
        }
        Ok(Query { pairs })
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is present (with or without a value).
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    /// All pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

fn decode_q(s: &str) -> Result<String, S3Error> {
    let s = s.replace('+', " ");
    percent_decode_str(&s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            S3Error::new(
                S3ErrorCode::InvalidArgument,
                "query string is not valid UTF-8",
            )
        })
}

/// Percent-decodes a path segment (`+` stays `+`).
pub fn decode_path(s: &str) -> Result<String, S3Error> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| S3Error::new(S3ErrorCode::InvalidArgument, "path is not valid UTF-8"))
}

/// The bucket named by a virtual-hosted-style `Host` (`bucket.rest[:port]`), if the host is a
/// name with at least two labels (never an IP address). The caller decides whether that
/// bucket exists; if not, the request is path-style.
pub fn vhost_bucket(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if name.starts_with('[') || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return None;
    }
    let (first, rest) = name.split_once('.')?;
    (!first.is_empty() && !rest.is_empty()).then_some(first)
}

/// Splits a path-style path (after the `/s3` prefix: `/B/K...`) into bucket and key, both
/// percent-decoded. `/` alone is the service (no bucket).
pub fn split_path(path: &str) -> Result<(Option<String>, Option<String>), S3Error> {
    let p = path.strip_prefix('/').unwrap_or(path);
    if p.is_empty() {
        return Ok((None, None));
    }
    let (b, k) = p.split_once('/').unwrap_or((p, ""));
    let bucket = decode_path(b)?;
    let key = (!k.is_empty()).then(|| decode_path(k)).transpose()?;
    Ok((Some(bucket), key))
}

/// An S3 operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `GET /`.
    ListBuckets,
    /// `HEAD /B`.
    HeadBucket,
    /// `PUT /B`.
    CreateBucket,
    /// `DELETE /B`.
    DeleteBucket,
    /// `GET /B` (`list-type=2` ⇒ v2).
    ListObjects {
        /// ListObjectsV2.
        v2: bool,
    },
    /// `GET /B?versioning`.
    GetBucketVersioning,
    /// `PUT /B?versioning`.
    PutBucketVersioning,
    /// `GET /B?location`.
    GetBucketLocation,
    /// `GET /B?uploads`.
    ListMultipartUploads,
    /// `GET /B?acl`: the owner has full control (AIS has no S3 ACLs).
    GetBucketAcl,
    /// `GET /B/K?acl`.
    GetObjectAcl,
    /// `POST /B?delete`.
    DeleteObjects,
    /// `HEAD /B/K`.
    HeadObject,
    /// `GET /B/K`.
    GetObject,
    /// `PUT /B/K`.
    PutObject,
    /// `PUT /B/K` with `x-amz-copy-source`.
    CopyObject,
    /// `DELETE /B/K`.
    DeleteObject,
    /// `POST /B/K?uploads`.
    CreateMultipartUpload,
    /// `PUT /B/K?partNumber=N&uploadId=U`.
    UploadPart,
    /// `PUT /B/K?partNumber=N&uploadId=U` with `x-amz-copy-source`.
    UploadPartCopy,
    /// `POST /B/K?uploadId=U`.
    CompleteMultipartUpload,
    /// `DELETE /B/K?uploadId=U`.
    AbortMultipartUpload,
    /// `GET /B/K?uploadId=U`.
    ListParts,
}

impl Op {
    /// Whether the operation addresses one object (served by the object's target).
    pub fn is_object(&self) -> bool {
        use Op::*;
        matches!(
            self,
            HeadObject
                | GetObject
                | PutObject
                | CopyObject
                | DeleteObject
                | CreateMultipartUpload
                | UploadPart
                | UploadPartCopy
                | CompleteMultipartUpload
                | AbortMultipartUpload
                | ListParts
                | GetObjectAcl
        )
    }
}

/// Bucket sub-resources we do not serve: answered 501 rather than misread as a listing.
const UNSUPPORTED: &[&str] = &[
    "policy",
    "policyStatus",
    "cors",
    "lifecycle",
    "tagging",
    "website",
    "logging",
    "notification",
    "replication",
    "encryption",
    "object-lock",
    "accelerate",
    "requestPayment",
    "ownershipControls",
    "publicAccessBlock",
    "intelligent-tiering",
    "inventory",
    "metrics",
    "analytics",
    "versions",
    "retention",
    "legal-hold",
    "torrent",
    "attributes",
    "restore",
    "select",
];

/// Classifies a request. `copy_source`: an `x-amz-copy-source` header is present.
pub fn route(
    method: &Method,
    bucket: Option<&str>,
    key: Option<&str>,
    q: &Query,
    copy_source: bool,
) -> Result<Op, S3Error> {
    if q.has("acl") {
        return match (method, key) {
            (&Method::GET, None) if bucket.is_some() => Ok(Op::GetBucketAcl),
            (&Method::GET, Some(_)) => Ok(Op::GetObjectAcl),
            _ => Err(S3Error::new(
                S3ErrorCode::NotImplemented,
                "setting ACLs is not implemented (AIS has no S3 ACLs)",
            )),
        };
    }
    if let Some(sub) = UNSUPPORTED.iter().find(|s| q.has(s)) {
        return Err(S3Error::new(
            S3ErrorCode::NotImplemented,
            format!("the \"{sub}\" sub-resource is not implemented"),
        ));
    }
    let bad = |what: &str| {
        Err(S3Error::new(
            S3ErrorCode::InvalidRequest,
            format!("{method} {what} is not a valid S3 request"),
        ))
    };
    let not_allowed = || {
        Err(S3Error::new(
            S3ErrorCode::MethodNotAllowed,
            format!("the method {method} is not allowed against this resource"),
        ))
    };
    match (bucket, key) {
        (None, _) => match *method {
            Method::GET => Ok(Op::ListBuckets),
            Method::HEAD | Method::PUT | Method::POST | Method::DELETE => bad("on the service"),
            _ => not_allowed(),
        },
        (Some(_), None) => match *method {
            Method::HEAD => Ok(Op::HeadBucket),
            Method::GET if q.has("versioning") => Ok(Op::GetBucketVersioning),
            Method::GET if q.has("location") => Ok(Op::GetBucketLocation),
            Method::GET if q.has("uploads") => Ok(Op::ListMultipartUploads),
            Method::GET => Ok(Op::ListObjects {
                v2: q.get("list-type") == Some("2"),
            }),
            Method::PUT if q.has("versioning") => Ok(Op::PutBucketVersioning),
            Method::PUT => Ok(Op::CreateBucket),
            Method::POST | Method::DELETE if q.has("delete") => Ok(Op::DeleteObjects),
            Method::DELETE => Ok(Op::DeleteBucket),
            Method::POST => bad("on a bucket without ?delete"),
            _ => not_allowed(),
        },
        (Some(_), Some(_)) => {
            let upload = q.has("uploadId");
            match *method {
                Method::HEAD => Ok(Op::HeadObject),
                Method::GET if upload => Ok(Op::ListParts),
                Method::GET => Ok(Op::GetObject),
                Method::PUT if upload && q.has("partNumber") => Ok(if copy_source {
                    Op::UploadPartCopy
                } else {
                    Op::UploadPart
                }),
                Method::PUT if upload => bad("with uploadId but no partNumber"),
                Method::PUT if copy_source => Ok(Op::CopyObject),
                Method::PUT => Ok(Op::PutObject),
                Method::POST if q.has("uploads") => Ok(Op::CreateMultipartUpload),
                Method::POST if upload => Ok(Op::CompleteMultipartUpload),
                Method::POST => bad("on an object without ?uploads or ?uploadId"),
                Method::DELETE if upload => Ok(Op::AbortMultipartUpload),
                Method::DELETE => Ok(Op::DeleteObject),
                _ => not_allowed(),
            }
        }
    }
}

/// Parses `x-amz-copy-source` (`[/]bucket/key[?versionId=..]`, URL-encoded) into bucket and key.
pub fn parse_copy_source(v: &str) -> Result<(String, String), S3Error> {
    let v = v.strip_prefix('/').unwrap_or(v);
    let v = v.split_once("?versionId=").map_or(v, |(p, _)| p);
    let (b, k) = v.split_once('/').ok_or_else(|| {
        S3Error::new(
            S3ErrorCode::InvalidArgument,
            "x-amz-copy-source must be bucket/key",
        )
    })?;
    let (b, k) = (decode_path(b)?, decode_path(k)?);
    if b.is_empty() || k.is_empty() {
        return Err(S3Error::new(
            S3ErrorCode::InvalidArgument,
            "x-amz-copy-source must be bucket/key",
        ));
    }
    Ok((b, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(m: Method, b: Option<&str>, k: Option<&str>, q: &str, cs: bool) -> Result<Op, S3Error> {
        route(&m, b, k, &Query::parse(q).unwrap(), cs)
    }

    #[test]
    fn dispatch() {
        use Op::*;
        assert_eq!(r(Method::GET, None, None, "", false), Ok(ListBuckets));
        assert_eq!(
            r(Method::GET, Some("b"), None, "list-type=2&prefix=a", false),
            Ok(ListObjects { v2: true })
        );
        assert_eq!(
            r(Method::GET, Some("b"), None, "", false),
            Ok(ListObjects { v2: false })
        );
        assert_eq!(
            r(Method::GET, Some("b"), None, "versioning", false),
            Ok(GetBucketVersioning)
        );
        assert_eq!(
            r(Method::GET, Some("b"), None, "location", false),
            Ok(GetBucketLocation)
        );
        assert_eq!(
            r(Method::POST, Some("b"), None, "delete", false),
            Ok(DeleteObjects)
        );
        assert_eq!(r(Method::PUT, Some("b"), None, "", false), Ok(CreateBucket));
        assert_eq!(
            r(Method::PUT, Some("b"), Some("k"), "", true),
            Ok(CopyObject)
        );
        assert_eq!(
            r(
                Method::PUT,
                Some("b"),
                Some("k"),
                "partNumber=2&uploadId=u",
                false
            ),
            Ok(UploadPart)
        );
        assert_eq!(
            r(
                Method::PUT,
                Some("b"),
                Some("k"),
                "partNumber=2&uploadId=u",
                true
            ),
            Ok(UploadPartCopy)
        );
        assert_eq!(
            r(Method::POST, Some("b"), Some("k"), "uploads", false),
            Ok(CreateMultipartUpload)
        );
        assert_eq!(
            r(Method::POST, Some("b"), Some("k"), "uploadId=u", false),
            Ok(CompleteMultipartUpload)
        );
        assert_eq!(
            r(Method::DELETE, Some("b"), Some("k"), "uploadId=u", false),
            Ok(AbortMultipartUpload)
        );
        assert_eq!(
            r(Method::GET, Some("b"), Some("k"), "uploadId=u", false),
            Ok(ListParts)
        );
        assert_eq!(
            r(Method::GET, Some("b"), None, "acl", false),
            Ok(GetBucketAcl)
        );
        assert_eq!(
            r(Method::GET, Some("b"), Some("k"), "acl", false),
            Ok(GetObjectAcl)
        );
        assert_eq!(
            r(Method::PUT, Some("b"), None, "acl", false)
                .unwrap_err()
                .code,
            S3ErrorCode::NotImplemented
        );
        assert_eq!(
            r(Method::GET, Some("b"), None, "policy", false)
                .unwrap_err()
                .code,
            S3ErrorCode::NotImplemented
        );
        assert_eq!(
            r(Method::PATCH, Some("b"), None, "", false)
                .unwrap_err()
                .code,
            S3ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            r(Method::POST, Some("b"), Some("k"), "", false)
                .unwrap_err()
                .code,
            S3ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn paths_and_hosts() {
        assert_eq!(split_path("/").unwrap(), (None, None));
        assert_eq!(split_path("/b").unwrap(), (Some("b".into()), None));
        assert_eq!(split_path("/b/").unwrap(), (Some("b".into()), None));
        assert_eq!(
            split_path("/b/d%20ir/a+b%2Fc").unwrap(),
            (Some("b".into()), Some("d ir/a+b/c".into()))
        );
        assert!(split_path("/b/%ff").is_err());
        assert_eq!(vhost_bucket("bkt.localhost:8080"), Some("bkt"));
        assert_eq!(vhost_bucket("localhost:8080"), None);
        assert_eq!(vhost_bucket("127.0.0.1:8080"), None);
        assert_eq!(vhost_bucket("[::1]:8080"), None);
        let q = Query::parse("prefix=a%2Fb+c&delimiter=%2F&x").unwrap();
        assert_eq!(q.get("prefix"), Some("a/b c"));
        assert!(q.has("x"));
        assert_eq!(
            parse_copy_source("/src/d%20ir/k?versionId=3").unwrap(),
            ("src".into(), "d ir/k".into())
        );
        assert!(parse_copy_source("nokey").is_err());
    }
}
