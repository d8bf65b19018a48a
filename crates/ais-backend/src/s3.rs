//! The S3 backend (`aws://`): SigV4-signed path-style requests to AWS or an S3-compatible
//! endpoint.

use crate::{Error, ListPage, RemoteObject};
use std::time::SystemTime;

/// An S3 (or S3-compatible) backend.
#[derive(Debug, Clone)]
pub struct S3Backend {
    client: reqwest::Client,
    endpoint: String,
    host: String,
    region: String,
    access: String,
    secret: String,
}

/// The `Code: Message` of an XML error body (S3 and Azure share the shape).
pub(crate) fn xml_error_message(body: &str) -> Option<String> {
    ais_s3::xml::parse(body.as_bytes()).ok().and_then(|e| {
        let code = e.child_text("Code").unwrap_or("").to_string();
        let m = e.child_text("Message").unwrap_or("").to_string();
        (!code.is_empty()).then(|| format!("{code}: {m}"))
    })
}

/// URI-encodes a key for a path (each segment; `/` kept).
pub(crate) fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|s| ais_s3::sigv4::uri_encode(s.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// The public S3 endpoint of `region` (`us-east-1` when empty).
pub fn aws_endpoint(region: &str) -> String {
    let region = if region.is_empty() {
        "us-east-1"
    } else {
        region
    };
    format!("https://s3.{region}.amazonaws.com")
}

impl S3Backend {
    /// A backend at `endpoint` (`http://host:port`, path-style requests).
    pub fn new(
        endpoint: &str,
        region: &str,
        access: &str,
        secret: &str,
    ) -> Result<S3Backend, Error> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let host = endpoint
            .split_once("://")
            .map(|(_, r)| r.split('/').next().unwrap_or(r).to_string())
            .ok_or_else(|| Error::Config(format!("invalid S3 endpoint {endpoint:?}")))?;
        let client = crate::http_client()?;
        Ok(S3Backend {
            client,
            endpoint,
            host,
            region: if region.is_empty() {
                "us-east-1".into()
            } else {
                region.to_string()
            },
            access: access.to_string(),
            secret: secret.to_string(),
        })
    }

    /// The backend the environment configures, if any (see the crate docs).
    pub fn from_env() -> Option<Result<S3Backend, Error>> {
        use crate::env as var;
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_default();
        // No endpoint but credentials: AWS itself, at the region's endpoint (over TLS).
        let endpoint = var("S3_ENDPOINT")
            .or_else(|| var("AWS_ENDPOINT_URL_S3"))
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .or_else(|| {
                var("AWS_ACCESS_KEY_ID")?;
                Some(aws_endpoint(&region))
            })?;
        Some(S3Backend::new(
            &crate::endpoint_url(&endpoint),
            &region,
            &var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            &var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
        ))
    }

    /// The same credentials and HTTP client at another endpoint (a bucket's own); an empty
    /// `region` keeps this one's.
    pub fn with_endpoint(&self, endpoint: &str, region: &str) -> Result<S3Backend, Error> {
        let region = if region.is_empty() {
            &self.region
        } else {
            region
        };
        let mut b = S3Backend::new(endpoint, region, &self.access, &self.secret)?;
        b.client = self.client.clone();
        Ok(b)
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn request(&self, method: &str, path: &str, query: &str) -> reqwest::RequestBuilder {
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&self.host) {
            h.insert(http::header::HOST, v);
        }
        if !self.access.is_empty() {
            ais_s3::sigv4::sign(
                method,
                path,
                query,
                &mut h,
                ais_s3::sigv4::UNSIGNED_PAYLOAD,
                &self.access,
                &self.secret,
                &self.region,
                SystemTime::now(),
            );
        }
        let url = if query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{query}", self.endpoint)
        };
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        self.client.request(m, url).headers(h)
    }

    async fn send(
        &self,
        what: &str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        crate::send(what, rb, xml_error_message).await
    }

    /// Creates a bucket (tests and tools; a cache tier does not create cloud buckets).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        let path = format!("/{bucket}");
        self.send(&format!("s3://{bucket}"), self.request("PUT", &path, ""))
            .await
            .map(|_| ())
    }

    /// Whether the bucket exists and is accessible.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), Error> {
        let path = format!("/{bucket}");
        self.send(&format!("s3://{bucket}"), self.request("HEAD", &path, ""))
            .await
            .map(|_| ())
    }

    /// One page of ListObjectsV2 (`token` from the previous page, `max` ≤ 1000).
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        token: &str,
        max: usize,
    ) -> Result<ListPage, Error> {
        let enc = |s: &str| ais_s3::sigv4::uri_encode(s.as_bytes());
        // Sorted by key, as the canonical query expects.
        let mut q = String::new();
        if !token.is_empty() {
            q.push_str(&format!("continuation-token={}&", enc(token)));
        }
        q.push_str(&format!("list-type=2&max-keys={}", max.clamp(1, 1000)));
        if !prefix.is_empty() {
            q.push_str(&format!("&prefix={}", enc(prefix)));
        }
        let path = format!("/{bucket}");
        let what = format!("s3://{bucket}");
        let r = self.send(&what, self.request("GET", &path, &q)).await?;
        let body = r
            .bytes()
            .await
            .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
        let root = ais_s3::xml::parse(&body).map_err(|e| Error::Other {
            what: what.clone(),
            status: 200,
            msg: format!("bad listing: {e}"),
        })?;
        let objects = root
            .children
            .iter()
            .filter(|c| c.name == "Contents")
            .map(|c| RemoteObject {
                name: c.child_text("Key").unwrap_or("").to_string(),
                size: c
                    .child_text("Size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                etag: c
                    .child_text("ETag")
                    .unwrap_or("")
                    .trim_matches('"')
                    .to_string(),
                version: String::new(),
                last_modified: c.child_text("LastModified").unwrap_or("").to_string(),
            })
            .collect();
        let truncated = root.child_text("IsTruncated") == Some("true");
        Ok(ListPage {
            objects,
            next: if truncated {
                root.child_text("NextContinuationToken")
                    .unwrap_or("")
                    .to_string()
            } else {
                String::new()
            },
        })
    }

    fn describe(name: &str, h: &http::HeaderMap) -> RemoteObject {
        let s = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        RemoteObject {
            name: name.to_string(),
            size: s("content-length").parse().unwrap_or(0),
            etag: s("etag").trim_matches('"').to_string(),
            version: s("x-amz-version-id"),
            last_modified: s("last-modified"),
        }
    }

    /// The object's attributes.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<RemoteObject, Error> {
        let path = format!("/{bucket}/{}", encode_key(key));
        let r = self
            .send(
                &format!("s3://{bucket}/{key}"),
                self.request("HEAD", &path, ""),
            )
            .await?;
        Ok(Self::describe(key, r.headers()))
    }

    /// Starts a GET: the attributes and the response whose body streams the bytes.
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(RemoteObject, reqwest::Response), Error> {
        let path = format!("/{bucket}/{}", encode_key(key));
        let r = self
            .send(
                &format!("s3://{bucket}/{key}"),
                self.request("GET", &path, ""),
            )
            .await?;
        Ok((Self::describe(key, r.headers()), r))
    }

    /// PUTs `len` bytes from `body`; returns the new ETag and version id.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: reqwest::Body,
        len: u64,
    ) -> Result<RemoteObject, Error> {
        let path = format!("/{bucket}/{}", encode_key(key));
        let r = self
            .send(
                &format!("s3://{bucket}/{key}"),
                self.request("PUT", &path, "")
                    .header(http::header::CONTENT_LENGTH, len)
                    .body(body),
            )
            .await?;
        let mut o = Self::describe(key, r.headers());
        o.size = len;
        Ok(o)
    }

    /// Deletes the object (a missing one is not an error, as in S3).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        let path = format!("/{bucket}/{}", encode_key(key));
        match self
            .send(
                &format!("s3://{bucket}/{key}"),
                self.request("DELETE", &path, ""),
            )
            .await
        {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config() {
        let b = S3Backend::new("http://127.0.0.1:5000/", "", "ak", "sk").unwrap();
        assert_eq!(b.endpoint(), "http://127.0.0.1:5000");
        assert_eq!(b.host, "127.0.0.1:5000");
        assert_eq!(b.region, "us-east-1");
        assert!(S3Backend::new("no-scheme", "", "", "").is_err());
        assert_eq!(encode_key("a b/c+d/ü"), "a%20b/c%2Bd/%C3%BC");
    }
}
