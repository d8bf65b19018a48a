//! The metadata revisions a node holds (Smap, BMD, cluster config), persisted in its confdir so
//! a restarted node (or a whole restarted cluster) comes back with the same membership and
//! buckets. Installs are newer-only and serialized.

use crate::Error as NodeError;
use crate::metastore;
use ais_core::config::ClusterConfig;
use ais_core::{ErrKind, Error};
use ais_meta::{Bmd, Smap};
use ais_metasync::{Revs, Versions};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

const CONF_FILE: &str = ".ais.conf";

/// What an install changed.
#[derive(Default)]
pub(crate) struct Installed {
    /// The Smap that was replaced, if a newer one was installed.
    pub(crate) old_smap: Option<Arc<Smap>>,
    /// The BMD that was replaced, if a newer one was installed.
    pub(crate) old_bmd: Option<Arc<Bmd>>,
}

pub(crate) struct NodeMeta {
    log_level: Option<crate::LogLevelHook>,
    confdir: PathBuf,
    smap: RwLock<Arc<Smap>>,
    bmd: RwLock<Arc<Bmd>>,
    config: RwLock<Arc<ClusterConfig>>,
    install_lock: Mutex<()>,
}

impl NodeMeta {
    /// Loads persisted revisions (if any); the config file given at start-up is the initial
    /// cluster config unless a newer one was persisted.
    pub(crate) fn load(
        confdir: PathBuf,
        initial: &ClusterConfig,
        log_level: Option<crate::LogLevelHook>,
    ) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&confdir)
            .map_err(|e| NodeError::Storage(format!("{}: {e}", confdir.display())))?;
        let smap = metastore::load::<Smap>(&confdir, metastore::SMAP_FILE)?
            .unwrap_or_else(|| Smap::new(String::new()));
        let bmd = metastore::load::<Bmd>(&confdir, metastore::BMD_FILE)?.unwrap_or_default();
        let config = match metastore::load::<ClusterConfig>(&confdir, CONF_FILE)? {
            Some(c) if c.config_version > initial.config_version => {
                // keep the node's own secret: it comes from the node's config file
                let mut c = c;
                c.auth = initial.auth.clone();
                c
            }
            _ => initial.clone(),
        };
        if let (Some(h), true) = (&log_level, config.log.level != initial.log.level) {
            let _ = (h.0)(&config.log.level);
        }
        Ok(NodeMeta {
            log_level,
            confdir,
            smap: RwLock::new(Arc::new(smap)),
            bmd: RwLock::new(Arc::new(bmd)),
            config: RwLock::new(Arc::new(config)),
            install_lock: Mutex::new(()),
        })
    }

    pub(crate) fn smap(&self) -> Arc<Smap> {
        self.smap.read().expect("smap lock").clone()
    }

    pub(crate) fn bmd(&self) -> Arc<Bmd> {
        self.bmd.read().expect("bmd lock").clone()
    }

    pub(crate) fn config(&self) -> Arc<ClusterConfig> {
        self.config.read().expect("config lock").clone()
    }

    pub(crate) fn versions(&self) -> Versions {
        Versions {
            smap: self.smap().version,
            bmd: self.bmd().version,
            config: self.config().config_version,
        }
    }

    /// All current revisions (config without its secret).
    pub(crate) fn revs(&self, sender: &str) -> Revs {
        let mut cfg = (*self.config()).clone();
        cfg.auth = Default::default();
        Revs {
            smap: Some((*self.smap()).clone()),
            bmd: Some((*self.bmd()).clone()),
            config: Some(cfg),
            sender: sender.to_string(),
        }
    }

    /// Installs whatever in `revs` is newer than what we hold; persists first, so what we
    /// serve is always what survives a restart.
    pub(crate) fn install(&self, revs: Revs) -> Result<Installed, Error> {
        let _g = self.install_lock.lock().expect("install lock");
        let mut out = Installed::default();
        let io = |e: NodeError| Error::internal(e.to_string());
        if let Some(s) = revs.smap {
            let cur = self.smap();
            if s.version > cur.version
                || (cur.version == 0 && s.version == 0 && cur.uuid.is_empty())
            {
                if !cur.uuid.is_empty() && !s.uuid.is_empty() && cur.uuid != s.uuid {
                    return Err(Error::new(
                        ErrKind::Conflict,
                        format!(
                            "cluster map of another cluster (uuid {} != {})",
                            s.uuid, cur.uuid
                        ),
                    ));
                }
                metastore::save(&self.confdir, metastore::SMAP_FILE, &s).map_err(io)?;
                *self.smap.write().expect("smap lock") = Arc::new(s);
                out.old_smap = Some(cur);
            }
        }
        if let Some(b) = revs.bmd {
            let cur = self.bmd();
            if b.version > cur.version {
                metastore::save(&self.confdir, metastore::BMD_FILE, &b).map_err(io)?;
                *self.bmd.write().expect("bmd lock") = Arc::new(b);
                out.old_bmd = Some(cur);
            }
        }
        if let Some(mut c) = revs.config {
            let cur = self.config();
            if c.config_version > cur.config_version {
                c.auth = cur.auth.clone();
                metastore::save(&self.confdir, CONF_FILE, &c).map_err(io)?;
                self.apply_log_level(&cur.log.level, &c.log.level);
                *self.config.write().expect("config lock") = Arc::new(c);
            }
        }
        Ok(out)
    }

    /// Replaces the Smap with a locally made newer one (primary), persisting it.
    pub(crate) fn set_smap(&self, s: Smap) -> Result<(), Error> {
        let _g = self.install_lock.lock().expect("install lock");
        if s.version <= self.smap().version {
            return Err(Error::internal(format!(
                "Smap v{} is not newer than v{}",
                s.version,
                self.smap().version
            )));
        }
        metastore::save(&self.confdir, metastore::SMAP_FILE, &s)
            .map_err(|e| Error::internal(e.to_string()))?;
        *self.smap.write().expect("smap lock") = Arc::new(s);
        Ok(())
    }

    /// Replaces the BMD with a locally made newer one (primary), persisting it.
    pub(crate) fn set_bmd(&self, b: Bmd) -> Result<(), Error> {
        let _g = self.install_lock.lock().expect("install lock");
        if b.version <= self.bmd().version {
            return Err(Error::internal(format!(
                "BMD v{} is not newer than v{}",
                b.version,
                self.bmd().version
            )));
        }
        metastore::save(&self.confdir, metastore::BMD_FILE, &b)
            .map_err(|e| Error::internal(e.to_string()))?;
        *self.bmd.write().expect("bmd lock") = Arc::new(b);
        Ok(())
    }

    fn apply_log_level(&self, old: &str, new: &str) {
        if old == new {
            return;
        }
        match &self.log_level {
            Some(h) => match (h.0)(new) {
                Ok(()) => tracing::info!(level = %new, "log level changed"),
                Err(e) => tracing::warn!(level = %new, err = %e, "cannot apply log level"),
            },
            None => tracing::info!(level = %new, "log level stored (no runtime hook)"),
        }
    }

    /// Replaces the cluster config with a locally made newer one (primary), persisting it.
    pub(crate) fn set_config(&self, c: ClusterConfig) -> Result<(), Error> {
        let _g = self.install_lock.lock().expect("install lock");
        let cur = self.config();
        if c.config_version <= cur.config_version {
            return Err(Error::internal("config version must grow"));
        }
        metastore::save(&self.confdir, CONF_FILE, &c)
            .map_err(|e| Error::internal(e.to_string()))?;
        self.apply_log_level(&cur.log.level, &c.log.level);
        *self.config.write().expect("config lock") = Arc::new(c);
        Ok(())
    }

    /// Changes this node's config only, in memory (`/v1/daemon/set-config`).
    pub(crate) fn set_local_transient(&self, c: ClusterConfig) {
        let _g = self.install_lock.lock().expect("install lock");
        let cur = self.config();
        self.apply_log_level(&cur.log.level, &c.log.level);
        *self.config.write().expect("config lock") = Arc::new(c);
    }

    /// Forgets all persisted metadata (decommission).
    pub(crate) fn wipe(&self) {
        for f in [metastore::SMAP_FILE, metastore::BMD_FILE, CONF_FILE] {
            let _ = std::fs::remove_file(self.confdir.join(f));
        }
    }
}
