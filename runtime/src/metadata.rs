//! The cluster's metadata file (`cluster.json` in the cluster directory): topics with their
//! configs, replica assignments, leaders and ISRs. Written whole to a temporary file,
//! fsynced, then renamed over the old one, so a crash leaves the old or the new version.
//! Also the rest of the cluster directory's housekeeping: its lock, validation of the
//! file on open, and removal of replica directories the metadata no longer names.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cluster::validate_topic_name;
use crate::error::LogError;
use crate::settings::TopicConfig;

pub const FILE_NAME: &str = "cluster.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClusterMeta {
    pub brokers: u32,
    pub topics: BTreeMap<String, TopicMeta>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicMeta {
    pub config: TopicConfig,
    pub partitions: Vec<PartitionMeta>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionMeta {
    pub replicas: Vec<u32>,
    pub leader: Option<u32>,
    pub isr: Vec<u32>,
    pub leader_epoch: u32,
    pub high_watermark: u64,
}

pub fn load(dir: &Path) -> Result<Option<ClusterMeta>, LogError> {
    let p = dir.join(FILE_NAME);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            LogError::Corrupt(format!(
                "{} is not valid cluster metadata: {e}",
                p.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn save(dir: &Path, meta: &ClusterMeta) -> Result<(), LogError> {
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let body = serde_json::to_vec_pretty(meta)
        .map_err(|e| LogError::Io(format!("cannot encode metadata: {e}")))?;
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(FILE_NAME))?;
    Ok(())
}

/// Refuses metadata that would make the cluster inconsistent (a hand-edited or foreign
/// `cluster.json`): replicas on brokers that do not exist, an ISR outside the replicas, a
/// partition count that disagrees with the config.
pub fn validate(meta: &ClusterMeta, brokers: u32) -> Result<(), LogError> {
    for (name, t) in &meta.topics {
        validate_topic_name(name)?;
        let bad = |what: String| {
            Err(LogError::Corrupt(format!(
                "{} topic '{name}': {what}",
                FILE_NAME
            )))
        };
        if t.partitions.len() != t.config.partitions as usize || t.partitions.is_empty() {
            return bad(format!(
                "{} partitions listed, config says {}",
                t.partitions.len(),
                t.config.partitions
            ));
        }
        for (p, pm) in t.partitions.iter().enumerate() {
            let mut seen = BTreeSet::new();
            if pm.replicas.is_empty()
                || pm
                    .replicas
                    .iter()
                    .any(|&b| b == 0 || b > brokers || !seen.insert(b))
            {
                return bad(format!("partition {p} has replicas {:?}", pm.replicas));
            }
            if pm.isr.iter().any(|b| !pm.replicas.contains(b))
                || pm.leader.is_some_and(|l| !pm.replicas.contains(&l))
            {
                return bad(format!(
                    "partition {p} has an ISR or leader outside its replicas"
                ));
            }
        }
    }
    Ok(())
}

/// Takes an exclusive advisory lock on `dir/.lock`: two processes writing one directory
/// would corrupt it. The kernel drops the lock when the process dies.
pub fn lock_dir(dir: &Path) -> Result<std::fs::File, LogError> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))?;
    // SAFETY: flock on a file descriptor we own, with no pointers involved.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        return Err(LogError::Io(format!(
            "{} is in use by another open cluster (close it first)",
            dir.display()
        )));
    }
    Ok(f)
}

/// Deletes replica directories the metadata does not name (a replica moved away while its
/// broker was stopped, or a deleted topic).
pub fn remove_stray_logs(dir: &Path, meta: &ClusterMeta) -> Result<(), LogError> {
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for (name, t) in &meta.topics {
        for (p, pm) in t.partitions.iter().enumerate() {
            for b in &pm.replicas {
                wanted.insert((format!("broker-{b}"), format!("{name}-{p}")));
            }
        }
    }
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let bname = e.file_name().to_string_lossy().into_owned();
        if !bname.starts_with("broker-") || !e.file_type()?.is_dir() {
            continue;
        }
        for pe in std::fs::read_dir(e.path())? {
            let pe = pe?;
            let pname = pe.file_name().to_string_lossy().into_owned();
            if !wanted.contains(&(bname.clone(), pname)) {
                std::fs::remove_dir_all(pe.path())?;
            }
        }
    }
    Ok(())
}
