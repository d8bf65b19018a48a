//! The Google Cloud Storage backend (`gcp://`, `gs://`): the JSON API.
//!
//! Objects: `GET /storage/v1/b/{bucket}/o/{name}` (metadata), `...?alt=media` (bytes),
//! `POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=` (a single-request upload;
//! GCS takes objects up to 5 TiB that way), `DELETE`, and `GET /storage/v1/b/{bucket}/o`
//! (listing, `pageToken`/`nextPageToken`). An object's version is its `generation`; its tag
//! the base64 `md5Hash` (`crc32c` for composite objects).
//!
//! Endpoint and credentials: `STORAGE_EMULATOR_HOST` (`host:port` or a URL), read as Google's
//! clients read it — an emulator, no authentication; otherwise `GOOGLE_OAUTH_ACCESS_TOKEN`, a
//! bearer token sent to `https://storage.googleapis.com`. Service-account keys
//! (`GOOGLE_APPLICATION_CREDENTIALS`, a signed JWT exchanged for tokens) are not implemented.

use crate::{Error, ListPage, RemoteObject};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The public Cloud Storage endpoint.
pub const GCS_ENDPOINT: &str = "https://storage.googleapis.com";

/// A Cloud Storage backend (or an emulator of it).
#[derive(Debug, Clone)]
pub struct GcsBackend {
    client: reqwest::Client,
    endpoint: String,
    token: Option<String>,
    /// Set once a media reply came without `x-goog-generation` (emulators): GETs then read the
    /// metadata first instead of discarding a first media reply each time.
    media_lacks_generation: Arc<AtomicBool>,
}

/// Percent-encodes one path segment or query value (everything but unreserved characters, so
/// `/` in object names too).
fn enc(s: &str) -> String {
    ais_s3::sigv4::uri_encode(s.as_bytes())
}

/// `error.message` of a JSON error body.
fn json_error_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("error")?.get("message")?.as_str().map(str::to_string)
}

impl GcsBackend {
    /// A backend at `endpoint` (`http://host:port` of an emulator, or [`GCS_ENDPOINT`]),
    /// sending `token` as a bearer token when given.
    pub fn new(endpoint: &str, token: Option<String>) -> Result<GcsBackend, Error> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
            return Err(Error::Config(format!("invalid GCS endpoint {endpoint:?}")));
        }
        Ok(GcsBackend {
            client: crate::http_client()?,
            endpoint,
            token,
            media_lacks_generation: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The backend the environment configures, if any (see the module docs).
    pub fn from_env() -> Option<Result<GcsBackend, Error>> {
        if let Some(host) = crate::env("STORAGE_EMULATOR_HOST") {
            return Some(GcsBackend::new(&crate::endpoint_url(&host), None));
        }
        let token = crate::env("GOOGLE_OAUTH_ACCESS_TOKEN")?;
        Some(GcsBackend::new(GCS_ENDPOINT, Some(token)))
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn request(&self, method: reqwest::Method, path_query: &str) -> reqwest::RequestBuilder {
        let rb = self
            .client
            .request(method, format!("{}{path_query}", self.endpoint));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    async fn send(
        &self,
        what: &str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        crate::send(what, rb, json_error_message).await
    }

    async fn json(
        &self,
        what: &str,
        rb: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, Error> {
        let r = self.send(what, rb).await?;
        let body = r
            .bytes()
            .await
            .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
        serde_json::from_slice(&body).map_err(|e| Error::Other {
            what: what.to_string(),
            status: 200,
            msg: format!("bad JSON reply: {e}"),
        })
    }

    /// An object resource's attributes.
    fn describe(v: &serde_json::Value) -> RemoteObject {
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let etag = match s("md5Hash") {
            m if m.is_empty() => s("crc32c"),
            m => m,
        };
        RemoteObject {
            name: s("name"),
            size: s("size").parse().unwrap_or(0),
            etag,
            version: s("generation"),
            last_modified: s("updated"),
        }
    }

    /// Creates a bucket (tests and tools; a cache tier does not create cloud buckets).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        self.send(
            &format!("gs://{bucket}"),
            self.request(reqwest::Method::POST, "/storage/v1/b?project=ais")
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(serde_json::json!({ "name": bucket }).to_string()),
        )
        .await
        .map(|_| ())
    }

    /// Whether the bucket exists and is accessible.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), Error> {
        self.send(
            &format!("gs://{bucket}"),
            self.request(
                reqwest::Method::GET,
                &format!("/storage/v1/b/{}", enc(bucket)),
            ),
        )
        .await
        .map(|_| ())
    }

    /// One page of the bucket's objects (`max` ≤ 1000).
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        token: &str,
        max: usize,
    ) -> Result<ListPage, Error> {
        let mut pq = format!(
            "/storage/v1/b/{}/o?maxResults={}",
            enc(bucket),
            max.clamp(1, 1000)
        );
        if !prefix.is_empty() {
            pq.push_str(&format!("&prefix={}", enc(prefix)));
        }
        if !token.is_empty() {
            pq.push_str(&format!("&pageToken={}", enc(token)));
        }
        let v = self
            .json(
                &format!("gs://{bucket}"),
                self.request(reqwest::Method::GET, &pq),
            )
            .await?;
        let objects = v
            .get("items")
            .and_then(|i| i.as_array())
            .map(|a| a.iter().map(Self::describe).collect())
            .unwrap_or_default();
        Ok(ListPage {
            objects,
            next: v
                .get("nextPageToken")
                .and_then(|t| t.as_str())
                .unwrap_or("")
                .to_string(),
        })
    }

    fn object_path(bucket: &str, key: &str) -> String {
        format!("/storage/v1/b/{}/o/{}", enc(bucket), enc(key))
    }

    /// The object's attributes.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<RemoteObject, Error> {
        let v = self
            .json(
                &format!("gs://{bucket}/{key}"),
                self.request(reqwest::Method::GET, &Self::object_path(bucket, key)),
            )
            .await?;
        Ok(Self::describe(&v))
    }

    /// Starts a GET: the attributes and the response whose body streams the bytes.
    ///
    /// The attributes come from the media reply's headers (`x-goog-generation`, `x-goog-hash`,
    /// `Content-Length`); from a server that does not send the generation (emulators) the
    /// object's metadata is read first, and the bytes then at exactly that generation.
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(RemoteObject, reqwest::Response), Error> {
        let what = format!("gs://{bucket}/{key}");
        let path = Self::object_path(bucket, key);
        if self.media_lacks_generation.load(Ordering::Relaxed) {
            let o = self.head(bucket, key).await?;
            return self.get_at_generation(&what, &path, o).await;
        }
        let r = self
            .send(
                &what,
                self.request(reqwest::Method::GET, &format!("{path}?alt=media")),
            )
            .await?;
        let h = r.headers();
        let hs = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
        let generation = hs("x-goog-generation").to_string();
        if generation.is_empty() {
            drop(r);
            self.media_lacks_generation.store(true, Ordering::Relaxed);
            let o = self.head(bucket, key).await?;
            return self.get_at_generation(&what, &path, o).await;
        }
        let (mut md5, mut crc) = ("", "");
        for part in h
            .get_all("x-goog-hash")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
        {
            match part.trim().split_once('=') {
                Some(("md5", v)) => md5 = v,
                Some(("crc32c", v)) => crc = v,
                _ => {}
            }
        }
        // `split_once` keeps base64 padding ('=') in the value.
        let o = RemoteObject {
            name: key.to_string(),
            size: hs("x-goog-stored-content-length")
                .parse()
                .or_else(|_| hs("content-length").parse())
                .unwrap_or(0),
            etag: if md5.is_empty() { crc } else { md5 }.to_string(),
            version: generation,
            last_modified: hs("last-modified").to_string(),
        };
        Ok((o, r))
    }

    /// The media GET of `o` at exactly its generation.
    async fn get_at_generation(
        &self,
        what: &str,
        path: &str,
        o: RemoteObject,
    ) -> Result<(RemoteObject, reqwest::Response), Error> {
        let pq = format!("{path}?alt=media&generation={}", enc(&o.version));
        let r = self
            .send(what, self.request(reqwest::Method::GET, &pq))
            .await?;
        Ok((o, r))
    }

    /// Uploads `len` bytes streamed from `body` in one request; returns the new attributes.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: reqwest::Body,
        len: u64,
    ) -> Result<RemoteObject, Error> {
        let pq = format!(
            "/upload/storage/v1/b/{}/o?uploadType=media&name={}",
            enc(bucket),
            enc(key)
        );
        let v = self
            .json(
                &format!("gs://{bucket}/{key}"),
                self.request(reqwest::Method::POST, &pq)
                    .header(http::header::CONTENT_TYPE, "application/octet-stream")
                    .header(http::header::CONTENT_LENGTH, len)
                    .body(body),
            )
            .await?;
        let mut o = Self::describe(&v);
        o.size = len;
        Ok(o)
    }

    /// Deletes the object (a missing one is not an error).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        match self
            .send(
                &format!("gs://{bucket}/{key}"),
                self.request(reqwest::Method::DELETE, &Self::object_path(bucket, key)),
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
    fn describe_and_paths() {
        let v = serde_json::json!({"name": "a/b", "size": "11", "generation": "17",
            "md5Hash": "XrY7u+Ae7tCTyyK7j1rNww==", "crc32c": "yZRlqg==", "updated": "t"});
        let o = GcsBackend::describe(&v);
        assert_eq!(
            (o.name.as_str(), o.size, o.etag.as_str(), o.version.as_str()),
            ("a/b", 11, "XrY7u+Ae7tCTyyK7j1rNww==", "17")
        );
        let v = serde_json::json!({"name": "c", "size": "1", "crc32c": "yZRlqg=="});
        assert_eq!(GcsBackend::describe(&v).etag, "yZRlqg==");
        assert_eq!(
            GcsBackend::object_path("b", "a/b c"),
            "/storage/v1/b/b/o/a%2Fb%20c"
        );
        assert_eq!(
            json_error_message(r#"{"error":{"code":404,"message":"No such object"}}"#).as_deref(),
            Some("No such object")
        );
        assert!(GcsBackend::new("127.0.0.1:1", None).is_err());
    }
}
