//! HTTP plumbing: the accept loop (TCP_NODELAY on every socket), request parsing (strict
//! percent-decoding of paths, query parameters), bodies and response builders.

use ais_core::{ErrKind, Error};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};
use hyper::body::Incoming;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Response body type of every handler.
pub(crate) type Body = BoxBody<Bytes, std::io::Error>;
/// A response.
pub(crate) type Resp = Response<Body>;

/// How long a connection may take to send a request head (also bounds idle keep-alive).
pub(crate) const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Largest control-message (JSON) body we read into memory.
pub(crate) const CONTROL_BODY_MAX: usize = 4 << 20;

/// A parsed request.
pub(crate) struct Req {
    pub(crate) method: Method,
    /// Raw (still percent-encoded) path, as received.
    pub(crate) raw_path: String,
    /// Raw query string (without `?`), as received.
    pub(crate) raw_query: String,
    /// Decoded path items after `/v1/`.
    pub(crate) items: Vec<String>,
    /// Decoded query parameters (first value wins).
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Incoming>,
    pub(crate) remote: SocketAddr,
}

impl Req {
    pub(crate) fn parse(req: http::Request<Incoming>, remote: SocketAddr) -> Result<Req, Error> {
        let (parts, body) = req.into_parts();
        let raw_path = parts.uri.path().to_string();
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        let path = strict_decode(&raw_path)?;
        let rest = path
            .strip_prefix("/v1/")
            .or_else(|| (path == "/v1").then_some(""))
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "invalid URL path \"{raw_path}\": expecting /v1/..."
                ))
            })?;
        let items = rest.split('/').map(str::to_string).collect();
        Ok(Req {
            method: parts.method,
            items,
            query: parse_query(&raw_query)?,
            raw_path,
            raw_query,
            headers: parts.headers,
            body: Some(body),
            remote,
        })
    }

    /// A request without the `/v1` path structure (S3): path items empty, query decoded.
    pub(crate) fn parse_raw(
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> Result<Req, Error> {
        let (parts, body) = req.into_parts();
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        Ok(Req {
            method: parts.method,
            items: Vec::new(),
            query: parse_query(&raw_query)?,
            raw_path: parts.uri.path().to_string(),
            raw_query,
            headers: parts.headers,
            body: Some(body),
            remote,
        })
    }

    /// A request made up internally (no body, no headers) to reuse a native handler.
    pub(crate) fn internal(method: Method, remote: SocketAddr) -> Req {
        Req {
            method,
            raw_path: String::new(),
            raw_query: String::new(),
            items: Vec::new(),
            query: HashMap::new(),
            headers: HeaderMap::new(),
            body: None,
            remote,
        }
    }

    /// Query value or "".
    pub(crate) fn q(&self, k: &str) -> &str {
        self.query.get(k).map(String::as_str).unwrap_or("")
    }

    /// Boolean query value (AIS spellings).
    pub(crate) fn q_bool(&self, k: &str) -> bool {
        matches!(
            self.q(k),
            "1" | "t" | "T" | "true" | "TRUE" | "True" | "y" | "yes" | "on"
        )
    }

    pub(crate) fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).and_then(|v| v.to_str().ok())
    }

    /// Reads the whole body (bounded by [`CONTROL_BODY_MAX`]).
    pub(crate) async fn read_body(&mut self) -> Result<Bytes, Error> {
        let Some(body) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let limited = http_body_util::Limited::new(body, CONTROL_BODY_MAX);
        match limited.collect().await {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    Err(Error::bad_request(format!(
                        "request body too large (max {CONTROL_BODY_MAX} bytes)"
                    )))
                } else {
                    Err(Error::bad_request(format!(
                        "failed to read request body: {e}"
                    )))
                }
            }
        }
    }

    /// Whether the proxy redirected this request here (`pid` and `utm` present).
    pub(crate) fn is_redirected(&self) -> bool {
        self.query.contains_key(ais_core::wire::qparam::PID)
            && self.query.contains_key(ais_core::wire::qparam::UTM)
    }
}

/// Percent-decodes `s`, rejecting malformed escapes and invalid UTF-8.
pub(crate) fn strict_decode(s: &str) -> Result<String, Error> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            match (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                _ => {
                    return Err(Error::bad_request(format!("invalid URL escape in \"{s}\"")));
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::bad_request(format!("URL \"{s}\" is not valid UTF-8")))
}

fn parse_query(q: &str) -> Result<HashMap<String, String>, Error> {
    let mut m = HashMap::new();
    for kv in q.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let k = strict_decode(&k.replace('+', " "))?;
        let v = strict_decode(&v.replace('+', " "))?;
        m.entry(k).or_insert(v);
    }
    Ok(m)
}

pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub(crate) fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// 200 with an empty body.
pub(crate) fn ok() -> Resp {
    Response::new(empty())
}

/// 200 with a JSON body.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Resp {
    match serde_json::to_vec(v) {
        Ok(b) => with_ct(Response::new(full(b)), "application/json"),
        Err(e) => error_resp(
            &Error::internal(format!("encode reply: {e}")),
            &Method::GET,
            "",
            "",
            None,
        ),
    }
}

/// 200 with a raw text body (job ids).
pub(crate) fn text(s: impl Into<String>) -> Resp {
    with_ct(Response::new(full(s.into())), "text/plain; charset=utf-8")
}

pub(crate) fn with_ct(mut r: Resp, ct: &'static str) -> Resp {
    r.headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

pub(crate) fn status(mut r: Resp, s: StatusCode) -> Resp {
    *r.status_mut() = s;
    r
}

/// The AIS-shaped error reply: JSON body, or the `Hdr-Error` header for HEAD.
pub(crate) fn error_resp(
    e: &Error,
    method: &Method,
    path: &str,
    node: &str,
    remote: Option<SocketAddr>,
) -> Resp {
    let code = e.kind().status();
    let body = ais_core::ErrorBody {
        tcode: e.kind().tcode().to_string(),
        message: e.msg.clone(),
        method: method.to_string(),
        url_path: path.to_string(),
        remote_addr: remote.map(|a| a.to_string()).unwrap_or_default(),
        caller: String::new(),
        node: node.to_string(),
        status: code,
    };
    let js = serde_json::to_string(&body).unwrap_or_default();
    let sc = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = if *method == Method::HEAD {
        let mut r = Response::new(empty());
        if let Ok(v) = HeaderValue::from_str(&js) {
            r.headers_mut().insert(ais_core::wire::hdr::ERROR, v);
        }
        r
    } else {
        let mut r = Response::new(full(js));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if e.kind() == ErrKind::MethodNotAllowed {
        r.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static("GET, HEAD, PUT, POST, DELETE, PATCH"),
        );
    }
    *r.status_mut() = sc;
    r
}

/// Something that handles parsed requests.
pub(crate) trait Handler: Send + Sync + 'static {
    /// `/metrics`: Prometheus text.
    fn metrics_text(&self) -> String;
    /// `/debug/vars`: JSON.
    fn debug_vars(&self) -> serde_json::Value;
    /// Handles one request; errors become AIS-shaped error replies.
    fn handle(self: Arc<Self>, req: Req) -> impl Future<Output = Result<Resp, Error>> + Send;
    /// `p[ID]` / `t[ID]` for error bodies.
    fn node_name(&self) -> String;
    /// An Amazon S3 request (`/s3/...`, or any path outside `/v1`); errors are S3-shaped.
    fn handle_s3(
        self: Arc<Self>,
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> impl Future<Output = Resp> + Send;
}

/// `Expect: 100-continue` on a request whose body is empty (no `100 Continue` will be sent).
fn expects_continue_without_body(req: &http::Request<Incoming>) -> bool {
    req.headers()
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
        && http_body::Body::is_end_stream(req.body())
}

/// Whether a path belongs to the S3 API: `/s3[/...]`, or anything outside `/v1` (S3 at the
/// root, for clients configured with the bare endpoint).
pub(crate) fn is_s3_path(path: &str) -> bool {
    !(path == "/v1" || path.starts_with("/v1/"))
}

async fn dispatch<H: Handler>(h: Arc<H>, req: http::Request<Incoming>, remote: SocketAddr) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if method == Method::GET {
        match path.as_str() {
            "/metrics" => {
                return with_ct(
                    Response::new(full(h.metrics_text())),
                    "text/plain; version=0.0.4; charset=utf-8",
                );
            }
            "/debug/vars" => return json(&h.debug_vars()),
            _ => {}
        }
    }
    if is_s3_path(&path) {
        let poisons = expects_continue_without_body(&req);
        let mut resp = h.handle_s3(req, remote).await;
        if poisons {
            // botocore answered without `100 Continue` keeps a stale status line on the pooled
            // connection and misreads the next reply on it (boto/botocore#3755); hyper sends
            // no 100 for an empty body, so close the connection (botocore resets on close).
            resp.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        return resp;
    }
    let r = match Req::parse(req, remote) {
        Ok(r) => h.clone().handle(r).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(resp) => resp,
        Err(e) => {
            if e.kind().status() >= 500 {
                tracing::warn!(%method, %path, err = %e, "request failed");
            } else {
                tracing::debug!(%method, %path, err = %e, "request rejected");
            }
            error_resp(&e, &method, &path, &h.node_name(), Some(remote))
        }
    }
}

/// Serves HTTP/1.1 on `listener` until `shutdown` resolves.
pub(crate) async fn serve<H: Handler>(
    listener: TcpListener,
    h: Arc<H>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(err = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(err = %e, "set TCP_NODELAY");
        }
        let h = h.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let h = h.clone();
                async move { Ok::<_, std::convert::Infallible>(dispatch(h, req, remote).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                // A client must send its request head in time (no slowloris); idle keep-alive
                // connections are closed after the same period.
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(io, svc)
                .await
            {
                tracing::debug!(err = %e, %remote, "connection closed with error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        assert_eq!(
            strict_decode("/v1/objects/b/%C3%BCn%20x").unwrap(),
            "/v1/objects/b/ün x"
        );
        assert!(strict_decode("/a/%zz").is_err());
        assert!(strict_decode("/a/%4").is_err());
        assert!(strict_decode("/a/%ff").is_err());
        let q = parse_query("provider=ais&namespace=%40u%23n&x=a+b&flag").unwrap();
        assert_eq!(q["namespace"], "@u#n");
        assert_eq!(q["x"], "a b");
        assert_eq!(q["flag"], "");
    }
}
