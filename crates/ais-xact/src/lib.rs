//! `ais-xact`: AIStore jobs ("xactions").
//!
//! - [`KINDS`]: the kind table — every job kind AIS clients know, whether it is an "on-demand"
//!   (idle-waiting) kind, and the display names clients may use instead ([`resolve_kind`]).
//! - [`Jobs`]: a bounded registry of cluster-wide jobs a proxy runs: lifecycle (running,
//!   finished, aborted, with error), per-target counters, results, and the JSON shapes of the
//!   native API's job queries ([`Job::status`], [`Job::snaps`]).
//!
//! Pure data and a mutex; no runtime, no I/O, no global state.
//!
//! ```
//! use ais_xact::Jobs;
//! let jobs = Jobs::default();
//! let id = jobs.start("copy-bck", None, &["t1".to_string()]);
//! assert_eq!(jobs.get(&id).unwrap().status().end_time, 0);
//! jobs.finish(&id, Default::default(), vec![]);
//! assert!(jobs.get(&id).unwrap().status().is_idle);
//! assert_eq!(ais_xact::resolve_kind("copy-objects"), Some("copy-listrange"));
//! ```

/// One job kind: its name, whether it is on-demand (clients wait for it by idleness rather than
/// by an end time), and its display-name aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Kind name as on the wire.
    pub name: &'static str,
    /// Waited on by `is_idle` over consecutive polls (SDK `_IdleStreak`).
    pub idle: bool,
    /// Other names clients may use.
    pub aliases: &'static [&'static str],
}

/// The kinds AIS clients know (SDK `KNOWN_KINDS`, AIS `xact/api_table.go`).
pub const KINDS: &[Kind] = &[
    Kind {
        name: "rebalance",
        idle: false,
        aliases: &["reb"],
    },
    Kind {
        name: "resilver",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "election",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "lru",
        idle: false,
        aliases: &["lru-eviction"],
    },
    Kind {
        name: "cleanup-store",
        idle: false,
        aliases: &["cleanup"],
    },
    Kind {
        name: "summary-bck",
        idle: false,
        aliases: &["summary"],
    },
    Kind {
        name: "summary-shard",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "rechunk",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "index-shard",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "ec-get",
        idle: true,
        aliases: &[],
    },
    Kind {
        name: "ec-put",
        idle: true,
        aliases: &[],
    },
    Kind {
        name: "ec-resp",
        idle: true,
        aliases: &[],
    },
    Kind {
        name: "ec-encode",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "put-copies",
        idle: true,
        aliases: &[],
    },
    Kind {
        name: "make-n-copies",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "archive",
        idle: true,
        aliases: &["arch"],
    },
    Kind {
        name: "copy-listrange",
        idle: true,
        aliases: &["copy-objects"],
    },
    Kind {
        name: "etl-listrange",
        idle: true,
        aliases: &["etl-objects"],
    },
    Kind {
        name: "delete-listrange",
        idle: false,
        aliases: &["delete-objects"],
    },
    Kind {
        name: "evict-listrange",
        idle: false,
        aliases: &["evict-objects"],
    },
    Kind {
        name: "prefetch-listrange",
        idle: false,
        aliases: &["prefetch-objects"],
    },
    Kind {
        name: "blob-download",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "download",
        idle: true,
        aliases: &[],
    },
    Kind {
        name: "dsort",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "promote",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "move-bck",
        idle: false,
        aliases: &["rename-bck"],
    },
    Kind {
        name: "copy-bck",
        idle: false,
        aliases: &["copy-bucket"],
    },
    Kind {
        name: "etl-bck",
        idle: false,
        aliases: &["etl-bucket"],
    },
    Kind {
        name: "etl-inline",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "evict-remote-bck",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "list",
        idle: true,
        aliases: &[],
    },
    Kind {
        name: "get-batch",
        idle: true,
        aliases: &[],
    },
    Kind {
        name: "create-inventory",
        idle: false,
        aliases: &[],
    },
    Kind {
        name: "load-lom-cache",
        idle: false,
        aliases: &[],
    },
];

/// The kind a name or display alias stands for; `None` if unknown. Empty stays empty (any kind).
pub fn resolve_kind(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("");
    }
    KINDS
        .iter()
        .find(|k| k.name == name || k.aliases.contains(&name))
        .map(|k| k.name)
}

/// Whether `kind` is on-demand (waited on by idleness).
pub fn is_idle_kind(kind: &str) -> bool {
    KINDS.iter().any(|k| k.name == kind && k.idle)
}

use ais_core::wire::{JobSnap, JobStatus, SnapStats};
use ais_core::{Bck, Error};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

/// How many finished jobs are remembered.
pub const JOBS_FINISHED_MAX: usize = 1024;

/// One cluster-wide job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Job id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Bucket it works on.
    pub bck: Option<Bck>,
    /// Start, unix ns.
    pub start_ns: i64,
    /// End, unix ns; 0 while running.
    pub end_ns: i64,
    /// Errors (joined); empty on success.
    pub err: String,
    /// Whether it was aborted.
    pub aborted: bool,
    /// Per-target counters.
    pub stats: BTreeMap<String, SnapStats>,
    /// Per-target start and end (unix ns; end 0 while that part runs), where known; a target
    /// without an entry shows the job's.
    pub times: BTreeMap<String, (i64, i64)>,
    /// What the job produced, for jobs that produce a value (bucket summary).
    pub result: Option<serde_json::Value>,
}

impl Job {
    /// `what=status` shape.
    pub fn status(&self) -> JobStatus {
        JobStatus {
            kind: self.kind.clone(),
            uuid: self.id.clone(),
            err: self.err.clone(),
            end_time: self.end_ns,
            aborted: self.aborted,
            is_idle: self.end_ns != 0,
        }
    }

    /// `what=qryxstats` shape: per target, its snapshots.
    pub fn snaps(&self) -> BTreeMap<String, Vec<JobSnap>> {
        self.stats
            .iter()
            .map(|(tid, st)| {
                let (start, end) = match self.times.get(tid) {
                    Some(&(s, e)) => (s, if e == 0 { self.end_ns } else { e }),
                    None => (self.start_ns, self.end_ns),
                };
                let snap = JobSnap {
                    id: self.id.clone(),
                    kind: self.kind.clone(),
                    start_time: ais_core::time::rfc3339_nanos(start),
                    end_time: ais_core::time::rfc3339_nanos(end),
                    bck: self.bck.clone(),
                    stats: st.clone(),
                    aborted: self.aborted,
                    is_idle: self.end_ns != 0,
                    abort_err: if self.aborted {
                        self.err.clone()
                    } else {
                        String::new()
                    },
                    err: self.err.clone(),
                };
                (tid.clone(), vec![snap])
            })
            .collect()
    }
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<String, Job>,
    finished: VecDeque<String>,
}

/// The job table.
/// The registry.
#[derive(Default)]
pub struct Jobs {
    inner: Mutex<Inner>,
}

/// A new job id: AIS's form (short, alphanumeric with `-`/`_` inside), from the OS random source.
pub fn new_id() -> String {
    let mut b = [0u8; 10];
    getrandom::fill(&mut b).expect("OS random source available");
    ais_core::id::gen_job_id(&b)
}

impl Jobs {
    /// Registers a running job over `targets`; returns its id.
    pub fn start(&self, kind: &str, bck: Option<Bck>, targets: &[String]) -> String {
        let id = new_id();
        self.start_with_id(&id, kind, bck, targets);
        id
    }

    /// Registers a running job with a given id (e.g. rebalance `g<N>`); an existing one is kept.
    pub fn start_with_id(&self, id: &str, kind: &str, bck: Option<Bck>, targets: &[String]) {
        let mut g = self.inner.lock().expect("jobs lock");
        g.jobs.entry(id.to_string()).or_insert_with(|| Job {
            id: id.to_string(),
            kind: kind.to_string(),
            bck,
            start_ns: ais_core::time::now_nanos(),
            end_ns: 0,
            err: String::new(),
            aborted: false,
            stats: targets
                .iter()
                .map(|t| (t.clone(), SnapStats::default()))
                .collect(),
            times: BTreeMap::new(),
            result: None,
        });
    }

    /// Adds a job learned elsewhere (e.g. from the targets, by a primary that restarted or
    /// took over); `false` if a job with its id is known already. A finished one counts
    /// toward the bound on finished jobs.
    pub fn adopt(&self, job: Job) -> bool {
        let mut g = self.inner.lock().expect("jobs lock");
        if g.jobs.contains_key(&job.id) {
            return false;
        }
        let (id, done) = (job.id.clone(), job.end_ns != 0);
        g.jobs.insert(id.clone(), job);
        if done {
            g.finished.push_back(id);
            while g.finished.len() > JOBS_FINISHED_MAX {
                if let Some(old) = g.finished.pop_front() {
                    g.jobs.remove(&old);
                }
            }
        }
        true
    }

    /// Updates a running job's per-target counters.
    pub fn update(&self, id: &str, stats: BTreeMap<String, SnapStats>) {
        if let Some(j) = self.inner.lock().expect("jobs lock").jobs.get_mut(id) {
            for (k, v) in stats {
                j.stats.insert(k, v);
            }
        }
    }

    /// Records when target `tid` started and (0: not yet) ended its part of job `id`.
    pub fn set_times(&self, id: &str, tid: &str, start_ns: i64, end_ns: i64) {
        if let Some(j) = self.inner.lock().expect("jobs lock").jobs.get_mut(id) {
            j.times.insert(tid.to_string(), (start_ns, end_ns));
        }
    }

    /// Marks a running job aborted without ending it (a target's part was aborted: superseded,
    /// say); [`Jobs::finish`] ends it.
    pub fn set_aborted(&self, id: &str) {
        if let Some(j) = self.inner.lock().expect("jobs lock").jobs.get_mut(id) {
            j.aborted = true;
        }
    }

    /// Makes a finished job running again (its targets resumed it, e.g. after a restart);
    /// `false` if it is unknown or still running.
    pub fn reopen(&self, id: &str) -> bool {
        let mut g = self.inner.lock().expect("jobs lock");
        let Some(j) = g.jobs.get_mut(id) else {
            return false;
        };
        if j.end_ns == 0 {
            return false;
        }
        j.end_ns = 0;
        j.aborted = false;
        j.err.clear();
        g.finished.retain(|f| f != id);
        true
    }

    /// Marks a job finished with per-target counters and errors.
    pub fn finish(&self, id: &str, stats: BTreeMap<String, SnapStats>, errs: Vec<String>) {
        let mut g = self.inner.lock().expect("jobs lock");
        if let Some(j) = g.jobs.get_mut(id)
            && j.end_ns == 0
        {
            j.end_ns = ais_core::time::now_nanos();
            j.stats = stats;
            if !errs.is_empty() {
                j.err = errs.join("; ");
            }
        }
        g.finished.push_back(id.to_string());
        while g.finished.len() > JOBS_FINISHED_MAX {
            if let Some(old) = g.finished.pop_front() {
                g.jobs.remove(&old);
            }
        }
    }

    /// Stores a job's result (before finishing it).
    pub fn set_result(&self, id: &str, v: serde_json::Value) {
        if let Some(j) = self.inner.lock().expect("jobs lock").jobs.get_mut(id) {
            j.result = Some(v);
        }
    }

    /// Aborts a running job.
    pub fn abort(&self, id: &str) -> Result<(), Error> {
        let mut g = self.inner.lock().expect("jobs lock");
        let j = g.jobs.get_mut(id).ok_or_else(|| {
            Error::new(
                ais_core::ErrKind::NotFound,
                format!("job \"{id}\" not found"),
            )
        })?;
        if j.end_ns == 0 {
            j.aborted = true;
            j.err = "aborted".into();
            j.end_ns = ais_core::time::now_nanos();
        }
        Ok(())
    }

    /// A copy of job `id`.
    pub fn get(&self, id: &str) -> Option<Job> {
        self.inner.lock().expect("jobs lock").jobs.get(id).cloned()
    }

    /// Jobs matching an optional kind and liveness, newest first.
    pub fn find(&self, kind: &str, only_running: bool) -> Vec<Job> {
        let g = self.inner.lock().expect("jobs lock");
        let mut v: Vec<Job> = g
            .jobs
            .values()
            .filter(|j| kind.is_empty() || j.kind == kind)
            .filter(|j| !only_running || j.end_ns == 0)
            .cloned()
            .collect();
        v.sort_by_key(|j| std::cmp::Reverse(j.start_ns));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let j = Jobs::default();
        let id = j.start("delete-listrange", None, &["t1".into()]);
        assert_eq!(j.get(&id).unwrap().status().end_time, 0);
        assert_eq!(j.find("", true).len(), 1);
        j.finish(&id, BTreeMap::new(), vec![]);
        let st = j.get(&id).unwrap().status();
        assert!(st.end_time > 0 && st.is_idle && st.err.is_empty());
        assert!(j.find("", true).is_empty());
        assert!(j.abort("nope").is_err());
        for _ in 0..JOBS_FINISHED_MAX + 5 {
            let id = j.start("x", None, &[]);
            j.finish(&id, BTreeMap::new(), vec![]);
        }
        assert!(j.find("", false).len() <= JOBS_FINISHED_MAX);
    }

    #[test]
    fn adopt_keeps_known_jobs() {
        let j = Jobs::default();
        let id = j.start("copy-bck", None, &["t1".into()]);
        let mut other = j.get(&id).unwrap();
        other.kind = "rebalance".into();
        assert!(!j.adopt(other.clone()), "a known id is not replaced");
        assert_eq!(j.get(&id).unwrap().kind, "copy-bck");
        other.id = "g7".into();
        other.end_ns = 5;
        assert!(j.adopt(other));
        assert_eq!(j.get("g7").unwrap().status().end_time, 5);
        assert!(j.find("rebalance", true).is_empty());
    }

    #[test]
    fn per_target_times_and_reopen() {
        let j = Jobs::default();
        let id = j.start("rebalance", None, &["t1".into(), "t2".into()]);
        j.set_times(&id, "t1", 1_000_000_000, 2_000_000_000);
        let snaps = j.get(&id).unwrap().snaps();
        assert_eq!(
            snaps["t1"][0].start_time,
            ais_core::time::rfc3339_nanos(1_000_000_000)
        );
        assert_eq!(
            snaps["t1"][0].end_time,
            ais_core::time::rfc3339_nanos(2_000_000_000)
        );
        assert_eq!(
            snaps["t2"][0].end_time,
            ais_core::time::rfc3339_nanos(0),
            "t2 runs"
        );
        assert!(!j.reopen(&id), "running");
        j.abort(&id).unwrap();
        assert!(j.reopen(&id));
        let st = j.get(&id).unwrap().status();
        assert!(st.end_time == 0 && !st.aborted && st.err.is_empty());
        assert_eq!(j.find("rebalance", true).len(), 1);
        assert!(!j.reopen("nope"));
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(resolve_kind("rebalance"), Some("rebalance"));
        assert_eq!(resolve_kind("lru-eviction"), Some("lru"));
        assert_eq!(resolve_kind(""), Some(""));
        assert_eq!(resolve_kind("no-such-kind"), None);
        assert!(is_idle_kind("copy-listrange"));
        assert!(!is_idle_kind("copy-bck"));
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KINDS.len(), "kind names are unique");
    }
}
