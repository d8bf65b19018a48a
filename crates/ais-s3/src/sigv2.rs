//! AWS Signature Version 2 (HMAC-SHA1), still what boto3's `generate_presigned_url` produces
//! by default and what older tools send: `Authorization: AWS <key>:<signature>` and presigned
//! query strings (`AWSAccessKeyId`, `Signature`, `Expires`). The body is never signed.

use crate::sigv4::{Auth, Payload, Request};
use crate::{S3Error, S3ErrorCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Query keys that are part of the string to sign (the S3 sub-resources and overrides).
const SIGNED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Whether the request uses Signature V2 (header or presigned form).
pub fn is_v2(req: &Request<'_>) -> bool {
    let hdr = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("AWS "));
    hdr || (has_param(req.query, "AWSAccessKeyId") && has_param(req.query, "Signature"))
}

fn has_param(query: &str, key: &str) -> bool {
    query
        .split('&')
        .any(|kv| kv.split_once('=').map_or(kv, |(k, _)| k) == key)
}

fn param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn header<'a>(req: &'a Request<'_>, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The string to sign. `date` is the `Date` header, or `Expires` for presigned requests.
/// `resource` is the canonical resource path, `/bucket/key` as encoded on the wire (clients
/// sign that even when the endpoint has a path prefix or the bucket is in `Host`).
pub fn string_to_sign(req: &Request<'_>, date: &str, resource: &str) -> String {
    let mut amz: Vec<(String, String)> = Vec::new();
    for (k, v) in req.headers {
        let k = k.as_str();
        if k.starts_with("x-amz-") {
            let v = v.to_str().unwrap_or("").trim().to_string();
            match amz.iter_mut().find(|(n, _)| n == k) {
                Some((_, old)) => {
                    old.push(',');
                    old.push_str(&v);
                }
                None => amz.push((k.to_string(), v)),
            }
        }
    }
    amz.sort();
    // With x-amz-date present, the Date line is empty (the header form).
    let date = if amz.iter().any(|(k, _)| k == "x-amz-date") {
        ""
    } else {
        date
    };
    let mut s = format!(
        "{}\n{}\n{}\n{}\n",
        req.method,
        header(req, "content-md5"),
        header(req, "content-type"),
        date
    );
    for (k, v) in &amz {
        s.push_str(k);
        s.push(':');
        s.push_str(v);
        s.push('\n');
    }
    s.push_str(resource);
    let mut sub: Vec<(String, Option<String>)> = req
        .query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = match kv.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (kv, None),
            };
            SIGNED_SUBRESOURCES.contains(&k).then(|| {
                (
                    k.to_string(),
                    v.map(|v| percent_decode_str(v).decode_utf8_lossy().into_owned()),
                )
            })
        })
        .collect();
    sub.sort();
    for (i, (k, v)) in sub.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        if let Some(v) = v {
            s.push('=');
            s.push_str(v);
        }
    }
    s
}

/// Base64 HMAC-SHA1 of `sts` with `secret`.
pub fn sign(sts: &str, secret: &str) -> String {
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(sts.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

fn eq_ct(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies a Signature V2 request (see [`is_v2`]) against any of the candidate canonical
/// `resources` (see [`string_to_sign`]). Like [`crate::sigv4::verify`]: when `required` is
/// false nothing is checked and the claimed key is returned.
pub fn verify(
    req: &Request<'_>,
    resources: &[&str],
    now: SystemTime,
    required: bool,
    secret_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Auth, S3Error> {
    let malformed = |m: &str| S3Error::new(S3ErrorCode::AccessDenied, m.to_string());
    let auth_hdr = header(req, "authorization");
    let (access, sig, date) = if let Some(rest) = auth_hdr.strip_prefix("AWS ") {
        let (ak, sig) = rest
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| malformed("malformed AWS authorization header"))?;
        let date = header(req, "date").to_string();
        if required {
            let when = header(req, "x-amz-date");
            let when = if when.is_empty() { date.as_str() } else { when };
            // RFC 1123 dates also come with a numeric UTC zone.
            let when = when
                .trim()
                .trim_end_matches("+0000")
                .trim_end_matches("GMT")
                .trim_end();
            let t = httpdate::parse_http_date(&format!("{when} GMT")).map_err(|_| {
                S3Error::new(
                    S3ErrorCode::AccessDenied,
                    "AWS authentication requires a valid Date or x-amz-date header",
                )
            })?;
            let skew = now
                .duration_since(t)
                .or_else(|_| t.duration_since(now))
                .unwrap_or(Duration::ZERO);
            if skew > crate::sigv4::MAX_SKEW {
                return Err(S3Error::new(
                    S3ErrorCode::RequestTimeTooSkewed,
                    "The difference between the request time and the current time is too large.",
                ));
            }
        }
        (ak.to_string(), sig.to_string(), date)
    } else {
        let ak = param(req.query, "AWSAccessKeyId").unwrap_or_default();
        let sig = param(req.query, "Signature").unwrap_or_default();
        let exp = param(req.query, "Expires").unwrap_or_default();
        if required {
            let e: u64 = exp
                .parse()
                .map_err(|_| malformed("Expires must be a number of seconds since the epoch"))?;
            if UNIX_EPOCH + Duration::from_secs(e) < now {
                return Err(S3Error::new(
                    S3ErrorCode::AccessDenied,
                    "Request has expired",
                ));
            }
        }
        (ak, sig, exp)
    };
    if required {
        let secret = secret_of(&access).ok_or_else(|| {
            S3Error::new(
                S3ErrorCode::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        })?;
        let ok = resources.iter().any(|res| {
            let want = sign(&string_to_sign(req, &date, res), &secret);
            eq_ct(want.as_bytes(), sig.as_bytes())
        });
        if !ok {
            return Err(S3Error::new(
                S3ErrorCode::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ));
        }
    }
    Ok(Auth::Signed {
        access_key: access,
        payload: Payload::Unsigned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn aws_example_get() {
        // The AWS documentation's example: GET /photos/puppy.jpg of bucket johnsmith.
        let mut h = HeaderMap::new();
        h.insert("host", "johnsmith.s3.amazonaws.com".parse().unwrap());
        h.insert("date", "Tue, 27 Mar 2007 19:36:42 +0000".parse().unwrap());
        h.insert(
            "authorization",
            "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="
                .parse()
                .unwrap(),
        );
        let r = Request {
            method: "GET",
            path: "/photos/puppy.jpg",
            query: "",
            headers: &h,
        };
        let sts = string_to_sign(
            &r,
            "Tue, 27 Mar 2007 19:36:42 +0000",
            "/johnsmith/photos/puppy.jpg",
        );
        assert_eq!(
            sts,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"
        );
        assert_eq!(sign(&sts, SECRET), "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
        assert!(is_v2(&r));
        let now = httpdate::parse_http_date("Tue, 27 Mar 2007 19:40:00 GMT").unwrap();
        let keys = |ak: &str| (ak == "AKIAIOSFODNN7EXAMPLE").then(|| SECRET.to_string());
        assert!(verify(&r, &["/johnsmith/photos/puppy.jpg"], now, true, &keys).is_ok());
        let late = now + Duration::from_secs(3600);
        assert_eq!(
            verify(&r, &["/johnsmith/photos/puppy.jpg"], late, true, &keys)
                .unwrap_err()
                .code,
            S3ErrorCode::RequestTimeTooSkewed
        );
        assert_eq!(
            verify(&r, &["/other/photos/puppy.jpg"], now, true, &keys)
                .unwrap_err()
                .code,
            S3ErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn presigned_round_trip() {
        let h = HeaderMap::new();
        let exp = 2_000_000_000u64;
        let probe = Request {
            method: "GET",
            path: "/s3/b/a%20b",
            query: "response-content-type=text%2Fplain",
            headers: &h,
        };
        let sig = sign(
            &string_to_sign(&probe, &exp.to_string(), "/b/a%20b"),
            SECRET,
        );
        assert!(
            string_to_sign(&probe, "1", "/s3/b/a%20b")
                .ends_with("/s3/b/a%20b?response-content-type=text/plain")
        );
        let enc: String =
            percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let q = format!(
            "AWSAccessKeyId=AK&Signature={enc}&Expires={exp}&response-content-type=text%2Fplain"
        );
        let r = Request { query: &q, ..probe };
        let keys = |ak: &str| (ak == "AK").then(|| SECRET.to_string());
        let now = UNIX_EPOCH + Duration::from_secs(exp - 10);
        assert!(is_v2(&r));
        assert!(verify(&r, &["/b/a%20b"], now, true, &keys).is_ok());
        let later = UNIX_EPOCH + Duration::from_secs(exp + 1);
        assert_eq!(
            verify(&r, &["/b/a%20b"], later, true, &keys)
                .unwrap_err()
                .code,
            S3ErrorCode::AccessDenied
        );
        let tampered = Request {
            path: "/s3/b/a%20c",
            ..r
        };
        assert_eq!(
            verify(&tampered, &["/b/a%20c"], now, true, &keys)
                .unwrap_err()
                .code,
            S3ErrorCode::SignatureDoesNotMatch
        );
        // Not required: anything passes.
        assert!(verify(&tampered, &["/b/a%20c"], later, false, &keys).is_ok());
    }
}
