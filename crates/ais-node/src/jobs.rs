//! A proxy's table of cluster-wide jobs it started (multi-object operations), answering the job
//! queries of the native API (`what=status|status_all|running_all|qryxstats`). Bounded: only
//! the most recent [`JOBS_FINISHED_MAX`] finished jobs are kept.

use ais_core::wire::{JobSnap, JobStatus, SnapStats};
use ais_core::{Bck, Error};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

/// How many finished jobs are remembered.
pub(crate) const JOBS_FINISHED_MAX: usize = 1024;

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) bck: Option<Bck>,
    pub(crate) start_ns: i64,
    pub(crate) end_ns: i64,
    pub(crate) err: String,
    pub(crate) aborted: bool,
    /// Per-target counters.
    pub(crate) stats: BTreeMap<String, SnapStats>,
    /// What the job produced, for jobs that produce a value (bucket summary).
    pub(crate) result: Option<serde_json::Value>,
}

impl Job {
    pub(crate) fn status(&self) -> JobStatus {
        JobStatus {
            kind: self.kind.clone(),
            uuid: self.id.clone(),
            err: self.err.clone(),
            end_time: self.end_ns,
            aborted: self.aborted,
            is_idle: self.end_ns != 0,
        }
    }

    pub(crate) fn snaps(&self) -> BTreeMap<String, Vec<JobSnap>> {
        self.stats
            .iter()
            .map(|(tid, st)| {
                let snap = JobSnap {
                    id: self.id.clone(),
                    kind: self.kind.clone(),
                    start_time: ais_core::time::rfc3339_nanos(self.start_ns),
                    end_time: ais_core::time::rfc3339_nanos(self.end_ns),
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
#[derive(Default)]
pub(crate) struct Jobs {
    inner: Mutex<Inner>,
}

fn new_id() -> String {
    let mut b = [0u8; 10];
    getrandom::fill(&mut b).expect("OS random source available");
    ais_core::id::gen_job_id(&b)
}

impl Jobs {
    /// Registers a running job over `targets`; returns its id.
    pub(crate) fn start(&self, kind: &str, bck: Option<Bck>, targets: &[String]) -> String {
        let id = new_id();
        self.start_with_id(&id, kind, bck, targets);
        id
    }

    /// Registers a running job with a given id (e.g. rebalance `g<N>`); an existing one is kept.
    pub(crate) fn start_with_id(&self, id: &str, kind: &str, bck: Option<Bck>, targets: &[String]) {
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
            result: None,
        });
    }

    /// Updates a running job's per-target counters.
    pub(crate) fn update(&self, id: &str, stats: BTreeMap<String, SnapStats>) {
        if let Some(j) = self.inner.lock().expect("jobs lock").jobs.get_mut(id) {
            for (k, v) in stats {
                j.stats.insert(k, v);
            }
        }
    }

    /// Marks a job finished with per-target counters and errors.
    pub(crate) fn finish(&self, id: &str, stats: BTreeMap<String, SnapStats>, errs: Vec<String>) {
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
    pub(crate) fn set_result(&self, id: &str, v: serde_json::Value) {
        if let Some(j) = self.inner.lock().expect("jobs lock").jobs.get_mut(id) {
            j.result = Some(v);
        }
    }

    /// Aborts a running job.
    pub(crate) fn abort(&self, id: &str) -> Result<(), Error> {
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

    pub(crate) fn get(&self, id: &str) -> Option<Job> {
        self.inner.lock().expect("jobs lock").jobs.get(id).cloned()
    }

    /// Jobs matching an optional kind and liveness, newest first.
    pub(crate) fn find(&self, kind: &str, only_running: bool) -> Vec<Job> {
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
}
