//! The cluster's metadata file (`cluster.json` in the cluster directory): topics with their
//! configs, replica assignments, leaders and ISRs. Written whole to a temporary file,
//! fsynced, then renamed over the old one, so a crash leaves the old or the new version.
//! Also the rest of the cluster directory's housekeeping: its lock, validation of the
//! file on open, and removal of replica directories the metadata no longer names.
//!
//! The file carries a format number and a CRC-32C of its content, so a damaged file is
//! refused rather than read as other metadata (a topic renamed by a flipped bit would have
//! its replicas deleted as strays). A missing file next to replica directories is refused
//! too: those directories would otherwise look like strays. Files written before the format
//! number (format 1: the bare metadata) are still read, and rewritten in format 2.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cluster::validate_topic_name;
use crate::error::LogError;
use crate::settings::TopicConfig;

pub const FILE_NAME: &str = "cluster.json";

/// The data directory's format: 2 = batches with a CRC over every byte (magic 2, magic 1
/// still read) and this checksummed metadata file.
pub const FORMAT: u32 = 2;

/// What `cluster.json` holds: the metadata and a checksum of it.
#[derive(Serialize, Deserialize)]
struct MetaFile {
    format: u32,
    /// CRC-32C (hex) of the metadata encoded as compact JSON.
    checksum: String,
    cluster: ClusterMeta,
}

fn checksum(meta: &ClusterMeta) -> Result<String, LogError> {
    let body = serde_json::to_vec(meta)
        .map_err(|e| LogError::Io(format!("cannot encode metadata: {e}")))?;
    Ok(format!("{:08x}", crc32c::crc32c(&body)))
}

/// What to tell a user whose metadata file is unusable.
const RECOVER_HELP: &str = "restore it from a backup of the data directory; kql neither \
     guesses the metadata nor deletes the replica directories it names";
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

/// The metadata of the cluster in `dir`: None for a new directory (no metadata file and no
/// replica directories); an error naming the file when it is damaged, from a newer kql, or
/// missing while replica directories exist.
pub fn load(dir: &Path) -> Result<Option<ClusterMeta>, LogError> {
    let p = dir.join(FILE_NAME);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some((b, r)) = replica_dirs(dir)?.first() {
                return Err(LogError::Corrupt(format!(
                    "{} is missing, but the directory holds replica data ({b}/{r}, ...): {RECOVER_HELP}; \
                     to start an empty log instead, move the broker-* directories away",
                    p.display()
                )));
            }
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let bad = |what: String| LogError::Corrupt(format!("{} {what}: {RECOVER_HELP}", p.display()));
    match serde_json::from_slice::<MetaFile>(&bytes) {
        Ok(f) if f.format > FORMAT => Err(LogError::Corrupt(format!(
            "{} is in format {}, newer than this kql reads ({FORMAT}): use a newer kql",
            p.display(),
            f.format
        ))),
        Ok(f) if checksum(&f.cluster)? != f.checksum => Err(bad(format!(
            "fails its checksum (stored {}, computed {}): it was damaged",
            f.checksum,
            checksum(&f.cluster)?
        ))),
        Ok(f) => Ok(Some(f.cluster)),
        // Format 1: the bare metadata, written before the checksum.
        Err(e) => serde_json::from_slice::<ClusterMeta>(&bytes)
            .map(Some)
            .map_err(|_| bad(format!("is not valid cluster metadata ({e})"))),
    }
}

/// The `broker-*/*` directories under `dir`: (broker directory, replica directory).
fn replica_dirs(dir: &Path) -> Result<Vec<(String, String)>, LogError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let bname = e.file_name().to_string_lossy().into_owned();
        if !bname.starts_with("broker-") || !e.file_type()?.is_dir() {
            continue;
        }
        for pe in std::fs::read_dir(e.path())? {
            let name = pe?.file_name().to_string_lossy().into_owned();
            out.push((bname.clone(), name));
        }
    }
    out.sort();
    Ok(out)
}

pub fn save(dir: &Path, meta: &ClusterMeta) -> Result<(), LogError> {
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let file = MetaFile {
        format: FORMAT,
        checksum: checksum(meta)?,
        cluster: meta.clone(),
    };
    let body = serde_json::to_vec_pretty(&file)
        .map_err(|e| LogError::Io(format!("cannot encode metadata: {e}")))?;
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(FILE_NAME))?;
    // The rename itself must survive a power loss.
    std::fs::File::open(dir)?.sync_all()?;
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
        return Err(LogError::DirectoryInUse(dir.display().to_string()));
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
    for (broker, name) in replica_dirs(dir)? {
        if !wanted.contains(&(broker.clone(), name.clone())) {
            std::fs::remove_dir_all(dir.join(broker).join(name))?;
        }
    }
    Ok(())
}
