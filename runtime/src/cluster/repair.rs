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
        let mut reports = Vec::new();
        let mut leader_intact = st.leader.is_some_and(intact);
        let mut merged = None;
        let recoverable = |l: u32| {
            damage.get(&l).is_some_and(|ds| {
                ds.iter().filter(|d| d.loses_offsets()).any(|d| {
                    st.logs.iter().filter(|(&b, _)| b != l).any(|(_, log)| {
                        log.next_batch_from(d.first_offset)
                            .is_some_and(|n| d.end_offset.is_none_or(|e| n.base_offset < e))
                    })
                })
            })
        };
        if let Some(l) = st.leader.filter(|&l| !leader_intact && recoverable(l)) {
            // Every replica lost something: the leader is written again from the intact
            // batches of all of them, and loses only what none of them held.
            let holes = self.rebuild_leader(st, l)?;
            for d in damage.get(&l).into_iter().flatten() {
                reports.extend(self.lost_holes(st, l, d, &holes));
            }
            merged = Some(l);
            leader_intact = true;
        }
        for (&b, ds) in &damage {
            if merged == Some(b) {
                for d in ds {
                    reports.push(self.merged_report(st, b, d));
                }
                continue;
            }
            // A damaged follower copies the leader again even when the leader is damaged
            // too: nothing the leader lacks was intact elsewhere (`recoverable`).
            let rebuild = st.leader.is_some() && st.leader != Some(b) && loses(ds);
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
                let mut r = self.report(st, b, d, rebuild);
                if rebuild && !leader_intact {
                    r.action = format!(
                        "replica cut at offset {} and copied again from the leader on broker \
                         {}, which is damaged too (what it lost is reported for it)",
                        d.first_offset,
                        st.leader.unwrap_or(0)
                    );
                }
                reports.push(r);
            }
        }
        self.inner.reports.lock().unwrap().extend(reports);
        Ok(())
    }

    /// Rebuilds the leader `l` of `st` from the valid batches of every replica
    /// (`PartitionLog::rebuild_from`); returns the offset ranges none of them held.
    fn rebuild_leader(&self, st: &mut PartitionState, l: u32) -> Result<Vec<(u64, u64)>, LogError> {
        let mut leader = st.logs.remove(&l).expect("the leader holds a log");
        let others: Vec<&crate::log::PartitionLog> = st.logs.values().collect();
        let r = leader.rebuild_from(&others, super::now_ms());
        st.logs.insert(l, leader);
        r
    }

    /// The damaged region `d` of a leader rebuilt from every replica's batches.
    fn merged_report(&self, st: &PartitionState, broker: u32, d: &Damage) -> StorageReport {
        let others: Vec<String> = st
            .logs
            .keys()
            .filter(|&&b| b != broker)
            .map(|b| b.to_string())
            .collect();
        StorageReport {
            action: format!(
                "no replica was intact: the log was written again from the intact batches of \
                 this replica and those on broker(s) {}",
                others.join(", ")
            ),
            lost: false,
            ..self.report(st, broker, d, true)
        }
    }

    /// Reports of the offsets of `d` that no replica held (`holes`): lost for good.
    fn lost_holes(
        &self,
        st: &PartitionState,
        broker: u32,
        d: &Damage,
        holes: &[(u64, u64)],
    ) -> Vec<StorageReport> {
        if !d.loses_offsets() {
            return Vec::new();
        }
        let (a, b) = (d.first_offset, d.end_offset.unwrap_or(u64::MAX));
        holes
            .iter()
            .map(|&(x, y)| (x.max(a), y.min(b)))
            .filter(|(x, y)| x < y)
            .map(|(x, y)| StorageReport {
                offsets: format!("{x}..{y}"),
                action: "these records are lost: no replica held them intact".into(),
                lost: true,
                torn_tail: false,
                ..self.report(st, broker, d, false)
            })
            .collect()
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
                self.report_on_leader(
                    st,
                    msg.clone(),
                    format!(
                        "read from the in-sync replica on broker {b}; the damaged replica is \
                         rebuilt when the data directory is next opened"
                    ),
                );
                return Ok(v);
            }
        }
        Err(LogError::Corrupt(format!(
            "topic '{}' partition {}: {msg} (no other in-sync replica holds an intact copy)",
            st.topic, st.partition
        )))
    }

    /// Brings `follower` level with the leader of `st` (`PartitionState::catch_up`) and
    /// reports a copy that met damage on the leader: served by another in-sync replica, or
    /// failed. Returns whether the follower is level.
    pub(super) fn copied(&self, st: &mut PartitionState, follower: u32, now: i64) -> bool {
        let (problem, action, ok) = match st.catch_up(follower, now) {
            Ok(None) => return true,
            Ok(Some((src, msg))) => (
                msg,
                format!(
                    "the copy to broker {follower} took these batches from the in-sync replica \
                     on broker {src}; the damaged replica is rebuilt when the data directory is \
                     next opened"
                ),
                true,
            ),
            Err(e) => (
                e.to_string(),
                format!(
                    "broker {follower} could not copy the partition and stays out of the \
                     in-sync replicas"
                ),
                false,
            ),
        };
        self.report_on_leader(st, problem, action);
        ok
    }

    /// Records damage met on the leader of `st` under an open cluster (a read or a copy
    /// that fell back to another replica, or failed), located by the problem's text.
    fn report_on_leader(&self, st: &PartitionState, problem: String, action: String) {
        self.inner.reports.lock().unwrap().push(StorageReport {
            topic: st.topic.clone(),
            partition: st.partition,
            broker: st.leader.unwrap_or(0),
            file: String::new(),
            byte_pos: 0,
            byte_len: 0,
            offsets: String::new(),
            problem,
            action,
            lost: false,
            torn_tail: false,
        });
    }

    /// Every damaged region and repair found since the cluster opened, oldest first.
    pub fn storage_reports(&self) -> Vec<StorageReport> {
        self.inner.reports.lock().unwrap().clone()
    }
}
