//! The tonic shell: a server adapter over a node's [`Handler`], and a client pool ([`Peers`]).

use crate::{Error, Revs, SECRET_HEADER, Versions, pb};
use ais_core::ErrKind;
use ais_meta::Snode;
use pb::metasync_client::MetasyncClient;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

/// What a node does with each control-protocol call.
pub trait Handler: Send + Sync + 'static {
    /// Installs the newer of the given revisions; returns the versions now held.
    fn push(&self, revs: Revs) -> impl Future<Output = Result<Versions, ais_core::Error>> + Send;
    /// Current revisions.
    fn pull(&self) -> impl Future<Output = Revs> + Send;
    /// Adds a node to the cluster (primary) or forwards the request to the primary.
    fn join(&self, node: Snode) -> impl Future<Output = Result<Revs, ais_core::Error>> + Send;
    /// Records a heartbeat (primary).
    fn keepalive(
        &self,
        node_id: String,
        versions: Versions,
    ) -> impl Future<Output = Result<pb::HeartbeatReply, ais_core::Error>> + Send;
    /// Votes on an election.
    fn vote(&self, req: pb::VoteRequest) -> impl Future<Output = pb::VoteReply> + Send;
    /// Lifecycle action requested by the primary.
    fn control(
        &self,
        action: String,
        value: serde_json::Value,
    ) -> impl Future<Output = Result<(), ais_core::Error>> + Send;
}

fn to_status(e: ais_core::Error) -> Status {
    let code = match e.kind() {
        ErrKind::BadRequest | ErrKind::BadChecksum => tonic::Code::InvalidArgument,
        ErrKind::NotFound | ErrKind::BckNotFound => tonic::Code::NotFound,
        ErrKind::Unavailable => tonic::Code::Unavailable,
        ErrKind::Forbidden => tonic::Code::PermissionDenied,
        ErrKind::Conflict | ErrKind::BckAlreadyExists => tonic::Code::FailedPrecondition,
        _ => tonic::Code::Internal,
    };
    Status::new(code, e.msg)
}

fn from_status(peer: &str, s: Status) -> Error {
    match s.code() {
        tonic::Code::Unavailable
        | tonic::Code::DeadlineExceeded
        | tonic::Code::Cancelled
        | tonic::Code::Unknown => Error::Unreachable {
            peer: peer.to_string(),
            msg: s.message().to_string(),
        },
        code => Error::Refused {
            peer: peer.to_string(),
            code: format!("{code:?}"),
            msg: s.message().to_string(),
        },
    }
}

struct Svc<H>(Arc<H>);

#[tonic::async_trait]
impl<H: Handler> pb::metasync_server::Metasync for Svc<H> {
    async fn push(&self, req: Request<pb::Revs>) -> Result<Response<pb::Versions>, Status> {
        let revs =
            Revs::from_pb(req.get_ref()).map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.0
            .push(revs)
            .await
            .map(|v| Response::new(v.into()))
            .map_err(to_status)
    }

    async fn pull(&self, _req: Request<pb::PullRequest>) -> Result<Response<pb::Revs>, Status> {
        Ok(Response::new(self.0.pull().await.to_pb()))
    }

    async fn join(&self, req: Request<pb::JoinRequest>) -> Result<Response<pb::Revs>, Status> {
        let node: Snode = serde_json::from_slice(&req.get_ref().snode)
            .map_err(|e| Status::invalid_argument(format!("snode: {e}")))?;
        self.0
            .join(node)
            .await
            .map(|r| Response::new(r.to_pb()))
            .map_err(to_status)
    }

    async fn keepalive(
        &self,
        req: Request<pb::Heartbeat>,
    ) -> Result<Response<pb::HeartbeatReply>, Status> {
        let hb = req.into_inner();
        let v = hb.versions.map(Versions::from).unwrap_or_default();
        self.0
            .keepalive(hb.node_id, v)
            .await
            .map(Response::new)
            .map_err(to_status)
    }

    async fn vote(&self, req: Request<pb::VoteRequest>) -> Result<Response<pb::VoteReply>, Status> {
        Ok(Response::new(self.0.vote(req.into_inner()).await))
    }

    async fn control(
        &self,
        req: Request<pb::ControlRequest>,
    ) -> Result<Response<pb::ControlReply>, Status> {
        let r = req.into_inner();
        let value = if r.value.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&r.value)
                .map_err(|e| Status::invalid_argument(format!("control value: {e}")))?
        };
        self.0
            .control(r.action, value)
            .await
            .map(|()| Response::new(pb::ControlReply {}))
            .map_err(to_status)
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves the control protocol on `listener` until `shutdown` resolves. Calls without the
/// cluster `secret` are refused (`PermissionDenied`).
pub async fn serve<H: Handler>(
    listener: tokio::net::TcpListener,
    handler: Arc<H>,
    secret: String,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let check = move |req: Request<()>| match req.metadata().get(SECRET_HEADER) {
        Some(v) if same_secret(v.as_bytes(), secret.as_bytes()) => Ok(req),
        _ => Err(Status::permission_denied("missing or wrong cluster secret")),
    };
    let svc = pb::metasync_server::MetasyncServer::with_interceptor(Svc(handler), check);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// Clients of the other nodes' control endpoints (one lazily connected channel per URL).
#[derive(Clone)]
pub struct Peers {
    secret: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    timeout: Duration,
    chans: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Peers {
    /// A pool whose calls carry `secret` and give up after `timeout`.
    pub fn new(secret: &str, timeout: Duration) -> Result<Peers, Error> {
        let secret = secret.parse().map_err(|_| Error::Decode {
            what: "secret",
            msg: "must be printable ASCII".into(),
        })?;
        Ok(Peers {
            secret,
            timeout,
            chans: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The same pool with another per-call timeout (e.g. short liveness probes).
    pub fn with_timeout(&self, timeout: Duration) -> Peers {
        Peers {
            timeout,
            ..self.clone()
        }
    }

    fn client(
        &self,
        url: &str,
    ) -> Result<
        MetasyncClient<
            tonic::service::interceptor::InterceptedService<
                Channel,
                impl tonic::service::Interceptor + use<>,
            >,
        >,
        Error,
    > {
        let chan = {
            let mut m = self.chans.lock().expect("peers lock");
            match m.get(url) {
                Some(c) => c.clone(),
                None => {
                    let c = Endpoint::from_shared(url.to_string())
                        .map_err(|e| Error::Unreachable {
                            peer: url.to_string(),
                            msg: e.to_string(),
                        })?
                        .connect_timeout(self.timeout.min(Duration::from_secs(2)))
                        .tcp_nodelay(true)
                        .connect_lazy();
                    m.insert(url.to_string(), c.clone());
                    c
                }
            }
        };
        let secret = self.secret.clone();
        Ok(MetasyncClient::with_interceptor(
            chan,
            move |mut req: Request<()>| {
                req.metadata_mut().insert(SECRET_HEADER, secret.clone());
                Ok(req)
            },
        ))
    }

    async fn call<T, F>(&self, url: &str, f: F) -> Result<T, Error>
    where
        F: Future<Output = Result<Response<T>, Status>>,
    {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(r)) => Ok(r.into_inner()),
            Ok(Err(s)) => Err(from_status(url, s)),
            Err(_) => Err(Error::Unreachable {
                peer: url.to_string(),
                msg: format!("no answer in {:?}", self.timeout),
            }),
        }
    }

    /// Pushes revisions to the node at control URL `url`.
    pub async fn push(&self, url: &str, revs: &pb::Revs) -> Result<Versions, Error> {
        let mut c = self.client(url)?;
        self.call(url, c.push(revs.clone()))
            .await
            .map(Versions::from)
    }

    /// Pulls the current revisions of the node at `url`.
    pub async fn pull(&self, url: &str) -> Result<Revs, Error> {
        let mut c = self.client(url)?;
        let p = self.call(url, c.pull(pb::PullRequest {})).await?;
        Revs::from_pb(&p)
    }

    /// Asks the node at `url` (the primary, or a proxy that forwards) to add `node`.
    pub async fn join(&self, url: &str, node: &Snode) -> Result<Revs, Error> {
        let mut c = self.client(url)?;
        let snode = serde_json::to_vec(node).expect("snode serializes");
        let p = self.call(url, c.join(pb::JoinRequest { snode })).await?;
        Revs::from_pb(&p)
    }

    /// Sends a heartbeat to the primary at `url`.
    pub async fn keepalive(
        &self,
        url: &str,
        node_id: &str,
        v: Versions,
    ) -> Result<pb::HeartbeatReply, Error> {
        let mut c = self.client(url)?;
        self.call(
            url,
            c.keepalive(pb::Heartbeat {
                node_id: node_id.to_string(),
                versions: Some(v.into()),
            }),
        )
        .await
    }

    /// Asks the proxy at `url` for its vote.
    pub async fn vote(&self, url: &str, req: pb::VoteRequest) -> Result<pb::VoteReply, Error> {
        let mut c = self.client(url)?;
        self.call(url, c.vote(req)).await
    }

    /// Sends a lifecycle action to the node at `url`.
    pub async fn control(
        &self,
        url: &str,
        action: &str,
        value: &serde_json::Value,
    ) -> Result<(), Error> {
        let mut c = self.client(url)?;
        let value = if value.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(value).expect("json serializes")
        };
        self.call(
            url,
            c.control(pb::ControlRequest {
                action: action.to_string(),
                value,
            }),
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
        assert!(Peers::new("ok-secret", Duration::from_secs(1)).is_ok());
        assert!(Peers::new("bad\nsecret", Duration::from_secs(1)).is_err());
    }
}
