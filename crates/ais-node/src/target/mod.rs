//! The target (storage) role: mountpaths, object data path, per-target listing pages and batch
//! deletes, and metadata received from the primary.

mod list;
mod object;

use crate::common::{self, bad_path, method_not_allowed};
use crate::intra::{Intra, MetasyncMsg};
use crate::metastore;
use crate::web::{self, Handler, Req, Resp};
use crate::{Error as NodeError, NodeConfig};
use ais_core::{Bck, ErrKind, Error};
use ais_fs::Mountpaths;
use ais_meta::{Bmd, Bprops, NetInfo, NodeRole, Smap, Snode};
use http::{Method, StatusCode};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Number of per-object lock stripes (serialize read-modify-write of one object's metadata).
const LOCK_STRIPES: usize = 256;

pub(crate) struct Target {
    cfg: Arc<NodeConfig>,
    si: Snode,
    name: String,
    confdir: PathBuf,
    mps: Arc<Mountpaths>,
    smap: RwLock<Arc<Smap>>,
    bmd: RwLock<Arc<Bmd>>,
    /// Serializes metadata application (a push and the join reply may race).
    apply_lock: Mutex<()>,
    started: AtomicBool,
    start: Instant,
    intra: Intra,
    locks: Arc<Vec<Mutex<()>>>,
}

/// The node's Smap entry: public, intra-control and intra-data networks from the local config
/// (intra networks default to the public one).
pub(crate) fn make_snode(
    cfg: &NodeConfig,
    id: &str,
    role: NodeRole,
    host: &str,
    port: u16,
) -> Snode {
    let mut s = Snode::new(id, role, host, port);
    let hn = &cfg.local.host_net;
    let ctl_host = if hn.hostname_intra_control.is_empty() {
        host
    } else {
        &hn.hostname_intra_control
    };
    let data_host = if hn.hostname_intra_data.is_empty() {
        host
    } else {
        &hn.hostname_intra_data
    };
    // Until the control and data networks get their own listeners, they share the public port.
    s.intra_control_net = NetInfo::new(ctl_host, port);
    s.intra_data_net = NetInfo::new(data_host, port);
    s
}

impl Target {
    pub(crate) async fn init(
        cfg: Arc<NodeConfig>,
        host: &str,
        port: u16,
    ) -> Result<Arc<Self>, NodeError> {
        let paths = cfg.local.mountpaths();
        let mps = {
            let paths = paths.clone();
            tokio::task::spawn_blocking(move || Mountpaths::new(&paths))
                .await
                .map_err(|e| NodeError::Storage(e.to_string()))?
                .map_err(|e| NodeError::Storage(e.to_string()))?
        };
        let id = crate::ids::target_id(cfg.daemon_id.as_deref(), &paths)?;
        let si = make_snode(&cfg, &id, NodeRole::Target, host, port);
        let confdir = PathBuf::from(&cfg.local.confdir);
        std::fs::create_dir_all(&confdir)
            .map_err(|e| NodeError::Storage(format!("{}: {e}", confdir.display())))?;
        let bmd = metastore::load::<Bmd>(&confdir, metastore::BMD_FILE)?.unwrap_or_default();
        let timeout = Duration::from_millis(cfg.cluster.timeout.max_host_busy_ms);
        Ok(Arc::new(Target {
            name: si.name(),
            intra: Intra::new(&id, timeout),
            si,
            cfg,
            confdir,
            mps: Arc::new(mps),
            smap: RwLock::new(Arc::new(Smap::new(String::new()))),
            bmd: RwLock::new(Arc::new(bmd)),
            apply_lock: Mutex::new(()),
            started: AtomicBool::new(false),
            start: Instant::now(),
            locks: Arc::new((0..LOCK_STRIPES).map(|_| Mutex::new(())).collect()),
        }))
    }

    pub(crate) fn id(&self) -> &str {
        &self.si.daemon_id
    }

    pub(crate) async fn join_cluster(self: &Arc<Self>) -> Result<(), NodeError> {
        let primary = self
            .cfg
            .cluster
            .proxy
            .primary_url
            .trim_end_matches('/')
            .to_string();
        let msg = crate::proxy::join_with_retry(&self.intra, &primary, &self.si, &self.cfg).await?;
        self.apply(msg).await.map_err(|e| NodeError::Join(e.msg))?;
        self.started.store(true, Ordering::Release);
        Ok(())
    }

    fn smap(&self) -> Arc<Smap> {
        self.smap.read().expect("smap lock").clone()
    }

    fn bmd(&self) -> Arc<Bmd> {
        self.bmd.read().expect("bmd lock").clone()
    }

    /// Props of an ais bucket, or 404.
    fn bprops(&self, bck: &Bck) -> Result<Bprops, Error> {
        if !bck.is_ais() {
            return Err(Error::new(
                ErrKind::NotImplemented,
                format!(
                    "bucket \"{}\": remote backends are not configured",
                    bck.cname()
                ),
            ));
        }
        Ok(self.bmd().need(bck)?.clone())
    }

    /// Applies metadata from the primary: newer only; data of buckets that disappeared from
    /// the BMD is destroyed.
    async fn apply(&self, msg: MetasyncMsg) -> Result<(), Error> {
        let mut removed = Vec::new();
        {
            let _g = self.apply_lock.lock().expect("apply lock");
            if let Some(s) = msg.smap
                && self.smap().check_newer(&s).map_err(crate::err::from_meta)?
            {
                *self.smap.write().expect("smap lock") = Arc::new(s);
            }
            if let Some(b) = msg.bmd {
                let old = self.bmd();
                if old.check_newer(&b).map_err(crate::err::from_meta)? {
                    removed = old
                        .list(None)
                        .into_iter()
                        .filter(|bck| b.get(bck).is_none())
                        .collect();
                    metastore::save(&self.confdir, metastore::BMD_FILE, &b)
                        .map_err(|e| Error::internal(e.to_string()))?;
                    *self.bmd.write().expect("bmd lock") = Arc::new(b);
                }
            }
        }
        for bck in removed {
            let mps = self.mps.clone();
            let name = bck.cname();
            let r = tokio::task::spawn_blocking(move || ais_fs::destroy_bucket(&mps, &bck)).await;
            match r {
                Ok(Ok(())) => tracing::info!(bck = %name, "bucket data destroyed"),
                Ok(Err(e)) => tracing::error!(bck = %name, err = %e, "destroy bucket data"),
                Err(e) => tracing::error!(bck = %name, err = %e, "destroy bucket task"),
            }
        }
        Ok(())
    }

    fn health(&self, req: &Req) -> Resp {
        if !self.started.load(Ordering::Acquire) {
            return web::status(web::ok(), StatusCode::SERVICE_UNAVAILABLE);
        }
        let up = self.start.elapsed().as_nanos();
        let mut r = if req.q_bool("cii") {
            web::json(&common::node_state_info(
                &self.smap(),
                &self.bmd(),
                self.cfg.cluster.config_version,
                common::NODE_STARTED_FLAGS,
            ))
        } else {
            web::ok()
        };
        common::uptime_headers(&mut r, up, up);
        r
    }

    fn daemon_get(&self, req: &Req) -> Result<Resp, Error> {
        let what = req.q("what");
        Ok(match what {
            "smap" => web::json(&*self.smap()),
            "bmd" => web::json(&*self.bmd()),
            "snode" => web::json(&self.si),
            "software_version" => web::text(crate::VERSION),
            "mountpaths" => {
                let v: Vec<&str> = self.mps.all().iter().map(|m| m.path.as_str()).collect();
                web::json(&serde_json::json!({"available": v, "waiting_dd": [], "disabled": []}))
            }
            "config" | "cluster_config" => web::json(&self.cfg.cluster),
            "node_status" => web::json(&self.node_status()),
            _ => {
                return Err(Error::new(
                    ErrKind::NotImplemented,
                    format!("target query what={what}: not supported yet"),
                ));
            }
        })
    }

    /// Capacity of every mountpath (`Tcdf` shape), from `statvfs`.
    fn capacity(&self) -> serde_json::Value {
        let mut mps = serde_json::Map::new();
        let (mut used_all, mut avail_all) = (0u64, 0u64);
        let mut pcts = Vec::new();
        for m in self.mps.all() {
            let Ok(st) = rustix::fs::statvfs(m.path.as_str()) else {
                continue;
            };
            let total = st.f_blocks.saturating_mul(st.f_frsize);
            let avail = st.f_bavail.saturating_mul(st.f_frsize);
            let used = total.saturating_sub(st.f_bfree.saturating_mul(st.f_frsize));
            let pct = if total == 0 {
                0
            } else {
                (used * 100 / total) as i32
            };
            used_all += used;
            avail_all += avail;
            pcts.push(pct);
            let label = self
                .cfg
                .local
                .fspaths
                .get(&m.path)
                .cloned()
                .unwrap_or_default();
            mps.insert(
                m.path.clone(),
                serde_json::json!({
                    "mountpath_label": label,
                    "fs": {"Fs": "", "FsType": "", "FsID": format!("{},{}", st.f_fsid as u32, (st.f_fsid >> 32) as u32)},
                    "disks": [],
                    "used": used.to_string(),
                    "avail": avail.to_string(),
                    "pct_used": pct,
                }),
            );
        }
        let n = pcts.len().max(1) as i32;
        serde_json::json!({
            "mountpaths": mps,
            "cs_err": "",
            "total_used": used_all.to_string(),
            "total_avail": avail_all.to_string(),
            "pct_max": pcts.iter().copied().max().unwrap_or(0),
            "pct_avg": pcts.iter().sum::<i32>() / n,
            "pct_min": pcts.iter().copied().min().unwrap_or(0),
        })
    }

    fn node_status(&self) -> serde_json::Value {
        serde_json::json!({
            "snode": self.si,
            "status": "",
            "deployment": "dev",
            "ais_version": crate::VERSION,
            "build_time": "",
            "k8s_pod_name": "",
            "tracker": {},
            "capacity": self.capacity(),
            "cluster": {"flags": if self.started.load(Ordering::Acquire) { common::NODE_STARTED_FLAGS } else { 0 }},
            "sys_info": {},
            "smap_version": self.smap().version.to_string(),
        })
    }

    /// The stripe lock of an object.
    fn lock_for(locks: &[Mutex<()>], digest: u64) -> &Mutex<()> {
        &locks[(digest as usize) % locks.len()]
    }
}

impl Handler for Target {
    fn node_name(&self) -> String {
        self.name.clone()
    }

    async fn handle(self: Arc<Self>, mut req: Req) -> Result<Resp, Error> {
        let first = req.items.first().map(String::as_str).unwrap_or("");
        match first {
            "objects" => {
                let bname = req.items.get(1).cloned().unwrap_or_default();
                if bname.is_empty() {
                    return Err(Error::bad_request("missing bucket name"));
                }
                let bck = common::req_bck(&req, &bname)?;
                let obj = common::obj_name(&req, 2);
                match req.method {
                    Method::GET => self.get_obj(&req, bck, obj).await,
                    Method::HEAD => self.head_obj(&req, bck, obj).await,
                    Method::PUT => self.put_obj(&mut req, bck, obj).await,
                    Method::DELETE => self.delete_obj(&req, bck, obj).await,
                    Method::PATCH => self.patch_obj(&mut req, bck, obj).await,
                    Method::POST => Err(Error::new(
                        ErrKind::NotImplemented,
                        "object actions are not supported yet",
                    )),
                    _ => Err(method_not_allowed(&req)),
                }
            }
            "health" => Ok(self.health(&req)),
            "daemon" if req.method == Method::GET => self.daemon_get(&req),
            "metasync" if req.method == Method::PUT => {
                let b = req.read_body().await?;
                let msg: MetasyncMsg = serde_json::from_slice(&b)
                    .map_err(|e| Error::bad_request(format!("metasync: {e}")))?;
                self.apply(msg).await?;
                Ok(web::json(&serde_json::json!({})))
            }
            "intra" if req.method == Method::POST => match req.items.get(1).map(String::as_str) {
                Some("list") => self.list_page(&mut req).await,
                Some("delete") => self.batch_delete(&mut req).await,
                _ => Err(bad_path(&req)),
            },
            _ => Err(bad_path(&req)),
        }
    }
}
