//! Damage found when a durable cluster opens, per partition: which replica may lead (an
//! intact one over a damaged one), which damaged replicas are rebuilt from the leader (cut
//! where their damage starts, then copied again, as a Kafka follower truncates and
//! re-fetches), and a report for every damaged region and every repair. Reads that meet
//! damage under an open cluster fall back to an intact in-sync replica (`read_elsewhere`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::Cluster;
use crate::damage::{Damage, DamageAction};
use crate::error::LogError;
use crate::replica::PartitionState;

/// One damaged region of a replica's files, or one read that met damage, and what was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageReport {
    pub topic: String,
    pub partition: u32,
    pub broker: u32,
    /// The file, relative to the data directory (`broker-1/t-0/000...0.log`).
    pub file: String,
    pub byte_pos: u64,
    pub byte_len: u64,
    /// The offsets affected (`5..9`, or `5..` to the log end); empty when none were.
    pub offsets: String,
    /// What is wrong.
    pub problem: String,
    /// What was done about it.
    pub action: String,
    /// Are records lost for good (no replica held an intact copy)?
    pub lost: bool,
    /// Was it an incomplete write at the end of the log, cut (what a crash leaves)?
    pub torn_tail: bool,
}

impl fmt::Display for StorageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "topic '{}' partition {} (broker {})",
            self.topic, self.partition, self.broker
        )?;
        if !self.file.is_empty() {
            write!(
                f,
                ": {} bytes {}..{}",
                self.file,
                self.byte_pos,
                self.byte_pos + self.byte_len
            )?;
        }
        if !self.offsets.is_empty() {
            write!(f, ", offsets {}", self.offsets)?;
        }
        write!(f, ": {}; {}", self.problem, self.action)
    }
}

/// The replica's damage that loses records, if any.
fn loses(d: &[Damage]) -> bool {
    d.iter().any(Damage::loses_offsets)
}

impl Cluster {
    /// Takes the damage each replica of `st` found on open, elects its leader (an intact
    /// replica over a damaged one, then the longest log), cuts each damaged follower where
    /// its damage starts so that healing copies the rest from the leader, and records a
    /// report for every damaged region. Caller holds `admin` or owns `st` alone.
    pub(super) fn repair_on_open(&self, st: &mut PartitionState) -> Result<(), LogError> {
        let mut damage: BTreeMap<u32, Vec<Damage>> = BTreeMap::new();
        for (&b, log) in st.logs.iter_mut() {
            let d = std::mem::take(&mut log.damage);
            if !d.is_empty() {
                damage.insert(b, d);
            }
        }
        let intact = |b: u32| damage.get(&b).is_none_or(|d| !loses(d));
        super::failover::elect_on_open(st, &intact);
        let leader_intact = st.leader.is_some_and(intact);
        let mut reports = Vec::new();
        for (&b, ds) in &damage {
            let rebuild = leader_intact && st.leader != Some(b) && loses(ds);
            if rebuild {
                let from = ds
                    .iter()
                    .filter(|d| d.loses_offsets())
                    .map(|d| d.first_offset)
                    .min()
                    .unwrap_or(0);
                if let Some(log) = st.logs.get_mut(&b) {
                    log.truncate_from(from)?;
                }
                // Out of the ISR until healing has copied the rest from the leader.
                st.isr.retain(|&r| r != b);
            }
            for d in ds {
                reports.push(self.report(st, b, d, rebuild));
            }
        }
        self.inner.reports.lock().unwrap().extend(reports);
        Ok(())
    }

    fn report(&self, st: &PartitionState, broker: u32, d: &Damage, rebuilt: bool) -> StorageReport {
        let leader = st.leader.unwrap_or(0);
        let lost = d.loses_offsets() && !rebuilt;
        let action = match (d.action, rebuilt) {
            (DamageAction::IndexRebuilt, _) => "rebuilt the index from the log".to_string(),
            (_, true) => format!(
                "replica cut at offset {} and copied again from the intact replica on broker {leader}",
                d.first_offset
            ),
            (DamageAction::CutTornTail, false) => format!(
                "cut {} byte(s) of an incomplete write at the end of the log (a crash while \
                 writing); no other replica had these records",
                d.byte_len
            ),
            (DamageAction::Skipped, false) => {
                "bytes left in place; reads skip these offsets (no intact replica had them)"
                    .to_string()
            }
            (DamageAction::Missing, false) => {
                "these records are gone (no intact replica had them)".to_string()
            }
        };
        StorageReport {
            topic: st.topic.clone(),
            partition: st.partition,
            broker,
            file: self.relative(&d.file),
            byte_pos: d.byte_pos,
            byte_len: d.byte_len,
            offsets: if d.action == DamageAction::IndexRebuilt {
                String::new()
            } else {
                d.offset_range()
            },
            problem: d.reason.clone(),
            action,
            lost,
            torn_tail: d.action == DamageAction::CutTornTail,
        }
    }

    fn relative(&self, file: &Path) -> String {
        match &self.inner.dir {
            Some(dir) => file.strip_prefix(dir).unwrap_or(file).display().to_string(),
            None => file.display().to_string(),
        }
    }

    /// A read of `st` that met damage on its leader (`e`): the same read on each other
    /// in-sync replica, the first that succeeds answering it, with a report. Without one,
    /// the error, saying so.
    pub(super) fn read_elsewhere<T>(
        &self,
        st: &PartitionState,
        e: LogError,
        read: impl Fn(u32) -> Result<T, LogError>,
    ) -> Result<T, LogError> {
        let LogError::Corrupt(msg) = e else {
            return Err(e);
        };
        let leader = st.leader.unwrap_or(0);
        for &b in st.isr.iter().filter(|&&b| b != leader) {
            if let Ok(v) = read(b) {
                self.inner.reports.lock().unwrap().push(StorageReport {
                    topic: st.topic.clone(),
                    partition: st.partition,
                    broker: leader,
                    file: String::new(),
                    byte_pos: 0,
                    byte_len: 0,
                    offsets: String::new(),
                    problem: msg.clone(),
                    action: format!(
                        "read from the in-sync replica on broker {b}; the damaged replica is \
                         rebuilt when the data directory is next opened"
                    ),
                    lost: false,
                    torn_tail: false,
                });
                return Ok(v);
            }
        }
        Err(LogError::Corrupt(format!(
            "topic '{}' partition {}: {msg} (no other in-sync replica holds an intact copy)",
            st.topic, st.partition
        )))
    }

    /// Every damaged region and repair found since the cluster opened, oldest first.
    pub fn storage_reports(&self) -> Vec<StorageReport> {
        self.inner.reports.lock().unwrap().clone()
    }
}
