//! Remote AIS clusters: `ais://@alias/bucket` is bucket `ais://bucket` of the cluster attached
//! under `alias`, reached through its native API (`/v1/...`) at one of its proxies.

use crate::s3::encode_key;
use crate::{Error, ListPage, RemoteObject, check, http_client, send};
use ais_core::wire::hdr;
use std::time::Duration;

/// A remote AIS cluster, by one of its proxies' URL.
#[derive(Debug, Clone)]
pub struct AisBackend {
    /// Follows the proxy's redirects to targets (GET, HEAD, DELETE).
    client: reqwest::Client,
    /// Does not: PUT learns its target first (a streamed body cannot be sent twice).
    no_redirect: reqwest::Client,
    url: String,
    alias: String,
}

/// The message of an AIS error body (`{"message": ...}`).
fn ais_msg(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("message")?
        .as_str()
        .map(str::to_string)
}

impl AisBackend {
    /// The cluster attached as `alias` at `url` (a proxy's public URL).
    pub fn new(alias: &str, url: &str) -> Result<AisBackend, Error> {
        let url = crate::endpoint_url(url);
        let no_redirect = reqwest::Client::builder()
            .tcp_nodelay(true)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(AisBackend {
            client: http_client()?,
            no_redirect,
            url,
            alias: alias.to_string(),
        })
    }

    /// The proxy URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn what(&self, bucket: &str, key: &str) -> String {
        if key.is_empty() {
            format!("ais://@{}/{bucket}", self.alias)
        } else {
            format!("ais://@{}/{bucket}/{key}", self.alias)
        }
    }

    fn bucket_url(&self, bucket: &str) -> String {
        format!("{}/v1/buckets/{bucket}?provider=ais", self.url)
    }

    fn obj_url(&self, bucket: &str, key: &str) -> String {
        format!(
            "{}/v1/objects/{bucket}/{}?provider=ais",
            self.url,
            encode_key(key)
        )
    }

    /// Creates the bucket in the remote cluster.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        let rb = self
            .client
            .post(self.bucket_url(bucket))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::json!({"action": "create-bck"}).to_string());
        send(&self.what(bucket, ""), rb, ais_msg).await.map(|_| ())
    }

    /// Whether the remote cluster has the bucket.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), Error> {
        let rb = self.client.head(self.bucket_url(bucket));
        send(&self.what(bucket, ""), rb, ais_msg).await.map(|_| ())
    }

    /// One listing page (the remote cluster's continuation token).
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        token: &str,
        max: usize,
    ) -> Result<ListPage, Error> {
        let what = self.what(bucket, "");
        let msg = serde_json::json!({
            "action": "list",
            "value": {
                "prefix": prefix,
                "continuation_token": token,
                "pagesize": max.clamp(1, 10_000),
                "props": "name,size,version,checksum,atime",
            }
        });
        let rb = self
            .client
            .get(self.bucket_url(bucket))
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(msg.to_string());
        let r = send(&what, rb, ais_msg).await?;
        let b = r
            .bytes()
            .await
            .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
        let bad = |e: String| Error::Other {
            what: what.clone(),
            status: 200,
            msg: format!("bad listing: {e}"),
        };
        let v: serde_json::Value = serde_json::from_slice(&b).map_err(|e| bad(e.to_string()))?;
        let s = |e: &serde_json::Value, k: &str| {
            e.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
        };
        let objects = v
            .get("entries")
            .and_then(|e| e.as_array())
            .map(|ents| {
                ents.iter()
                    .map(|e| RemoteObject {
                        name: s(e, "name"),
                        size: e
                            .get("size")
                            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                            .unwrap_or(0),
                        etag: s(e, "checksum"),
                        version: s(e, "version"),
                        last_modified: s(e, "atime"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ListPage {
            objects,
            next: s(&v, "continuation_token"),
        })
    }

    fn describe(key: &str, h: &http::HeaderMap) -> RemoteObject {
        let s = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        RemoteObject {
            name: key.to_string(),
            size: s("content-length").parse().unwrap_or(0),
            // The remote object's checksum stands for its ETag: it changes with the content.
            etag: s(hdr::CKSUM_VALUE),
            version: s(hdr::VERSION),
            last_modified: s("last-modified"),
        }
    }

    /// The object's attributes.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<RemoteObject, Error> {
        let rb = self.client.head(self.obj_url(bucket, key));
        let r = send(&self.what(bucket, key), rb, ais_msg).await?;
        let mut o = Self::describe(key, r.headers());
        if let Some(n) = r
            .headers()
            .get("ais-size")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
        {
            o.size = n;
        }
        Ok(o)
    }

    /// Starts a GET (redirected by the remote proxy to the object's target).
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(RemoteObject, reqwest::Response), Error> {
        let rb = self.client.get(self.obj_url(bucket, key));
        let r = send(&self.what(bucket, key), rb, ais_msg).await?;
        Ok((Self::describe(key, r.headers()), r))
    }

    /// PUTs `len` bytes: asks the remote proxy where (its redirect), then streams the body
    /// to that target.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: reqwest::Body,
        len: u64,
    ) -> Result<RemoteObject, Error> {
        let what = self.what(bucket, key);
        let r = self
            .no_redirect
            .put(self.obj_url(bucket, key))
            .header(http::header::CONTENT_LENGTH, 0)
            .send()
            .await
            .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
        let loc = match r.status().as_u16() {
            301 | 302 | 307 | 308 => r
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| Error::Other {
                    what: what.clone(),
                    status: r.status().as_u16(),
                    msg: "redirect without a location".into(),
                })?,
            // An error reply (e.g. no such bucket) is mapped like any other.
            _ => {
                let status = r.status().as_u16();
                check(&what, r, ais_msg).await?;
                return Err(Error::Other {
                    what,
                    status,
                    msg: "the remote proxy did not redirect the PUT".into(),
                });
            }
        };
        let rb = self
            .no_redirect
            .put(loc)
            .header(http::header::CONTENT_LENGTH, len)
            .body(body);
        let r = send(&what, rb, ais_msg).await?;
        let mut o = Self::describe(key, r.headers());
        o.size = len;
        if o.etag.is_empty() || o.version.is_empty() {
            // The PUT reply carries no attributes on every version of AIS: ask.
            if let Ok(h) = self.head(bucket, key).await {
                o.etag = h.etag;
                o.version = h.version;
            }
        }
        Ok(o)
    }

    /// Deletes the object (a missing one is not an error).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        let rb = self.client.delete(self.obj_url(bucket, key));
        match send(&self.what(bucket, key), rb, ais_msg).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
