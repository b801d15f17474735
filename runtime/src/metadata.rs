//! The cluster's metadata file (`cluster.json` in the cluster directory): topics with their
//! configs, replica assignments, leaders and ISRs. Written whole to a temporary file,
//! fsynced, then renamed over the old one, so a crash leaves the old or the new version.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

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
