//! Remote AIS clusters on the proxy: attach and detach (`PUT /v1/cluster/attach|detach
//! ?what=remote`, headers `Ais-Remote-Ais-Alias` / `Ais-Remote-Ais-Url`; kept in the cluster
//! config as `backend.conf.ais`) and `GET /v1/cluster?what=remote`. Buckets of an attached
//! cluster are `ais://@alias/bucket`; targets reach them through `ais_backend::AisBackend`.

use super::Proxy;
use crate::web::{self, Req, Resp};
use ais_core::{ErrKind, Error};
use serde::Serialize;
use std::time::Duration;

/// Header naming the alias of a remote cluster.
const ALIAS_HDR: &str = "ais-remote-ais-alias";
/// Header carrying the URL of a remote cluster's proxy.
const URL_HDR: &str = "ais-remote-ais-url";

/// One attached cluster in `what=remote` (AIS's `RemoteAISInfo`, plus the uuid).
#[derive(Debug, Serialize)]
struct RemoteInfo {
    url: String,
    alias: String,
    uuid: String,
    primary: String,
    smap: i64,
    targets: i32,
    online: bool,
}

/// The remote cluster's Smap (a plain client: our cluster secret never goes to another
/// cluster).
async fn remote_smap(url: &str) -> Result<ais_meta::Smap, String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())?;
    let r = client
        .get(format!("{}/v1/daemon?what=smap", url.trim_end_matches('/')))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("{url} replied {}", r.status()));
    }
    let b = r.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&b).map_err(|e| format!("{url}: not an AIS cluster map: {e}"))
}

fn valid_alias(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 64
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Proxy {
    /// `PUT /v1/cluster/attach?what=remote` (or `detach`): on the primary.
    pub(super) async fn remote_attach(&self, req: &Req, attach: bool) -> Result<Resp, Error> {
        if req.q("what") != "remote" {
            return Err(Error::new(
                ErrKind::NotImplemented,
                format!(
                    "{}: only what=remote (remote AIS clusters) is supported",
                    req.raw_path
                ),
            ));
        }
        let alias = req.header(ALIAS_HDR).unwrap_or("").to_string();
        if !valid_alias(&alias) {
            return Err(Error::bad_request(format!(
                "invalid remote cluster alias {alias:?} (letters, digits, '-', '_')"
            )));
        }
        if !attach {
            let mut found = true;
            self.modify_config(|c| {
                found = c.backend.set_remote_ais(&alias, None);
                if found {
                    Ok(())
                } else {
                    Err(Error::new(
                        ErrKind::NotFound,
                        format!("remote cluster {alias:?} is not attached"),
                    ))
                }
            })
            .await?;
            tracing::info!(%alias, "remote cluster detached");
            return Ok(web::ok());
        }
        let url = req
            .header(URL_HDR)
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::bad_request(format!(
                "invalid remote cluster URL {url:?} (http:// or https://)"
            )));
        }
        let smap = remote_smap(&url)
            .await
            .map_err(|e| Error::bad_request(format!("cannot attach {alias:?}: {e}")))?;
        if smap.uuid == self.smap().uuid {
            return Err(Error::bad_request(format!(
                "{url} is this very cluster (uuid {})",
                smap.uuid
            )));
        }
        self.modify_config(|c| {
            c.backend.set_remote_ais(&alias, Some(&url));
            Ok(())
        })
        .await?;
        tracing::info!(%alias, %url, uuid = %smap.uuid, "remote cluster attached");
        Ok(web::ok())
    }

    /// `GET /v1/cluster?what=remote`: the attached clusters, probed now.
    pub(super) async fn remote_info(&self) -> Resp {
        let cfg = self.ctl.meta.config();
        let probes = cfg
            .backend
            .remote_ais()
            .into_iter()
            .map(|(alias, urls)| async move {
                let url = urls.first().cloned().unwrap_or_default();
                match remote_smap(&url).await {
                    Ok(s) => RemoteInfo {
                        alias,
                        uuid: s.uuid.clone(),
                        primary: s
                            .proxy_si
                            .as_ref()
                            .map(|p| p.daemon_id.clone())
                            .unwrap_or_default(),
                        smap: s.version,
                        targets: s.tmap.len() as i32,
                        online: true,
                        url,
                    },
                    Err(_) => RemoteInfo {
                        alias,
                        url,
                        uuid: String::new(),
                        primary: String::new(),
                        smap: 0,
                        targets: 0,
                        online: false,
                    },
                }
            });
        let a = futures_util::future::join_all(probes).await;
        web::json(&serde_json::json!({"a": a, "ver": cfg.config_version}))
    }
}
