//! One partition across brokers: its replica assignment, leader, in-sync replica set
//! (ISR), high watermark, and each replica's log. With acks=all, followers copy the
//! leader's encoded batches before `produce` returns (in-process), so an acknowledged
//! record is on every ISR member. With acks=1 or 0 only the leader has the record when
//! `produce` returns; followers copy it on their next fetch (`replicate`: the cluster
//! runs it before a consumer reads the partition), so a leader that dies first takes the
//! record with it. The high watermark is the smallest log end of the ISR: a consumer
//! never reads past it.

use std::collections::BTreeMap;

use crate::error::LogError;
use crate::limits::FETCH_READ_BYTES_MAX;
use crate::log::PartitionLog;
use crate::record::{ProducerRecord, ProducerRef, Record};
use crate::view::RecordBatch;

/// How many replicas must have a record before `produce` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Acks {
    /// acks=0: the producer does not wait for any answer. In-process the leader still
    /// appends before the call returns, but a caller with acks=0 must ignore the result
    /// (errors included), as a Kafka producer never hears of them; followers copy later.
    None,
    /// acks=1: return when the leader has it; followers copy it later (see the module).
    Leader,
    /// Return when every in-sync replica has it, and refuse while fewer than
    /// `min_insync_replicas` are in sync.
    #[default]
    All,
}

pub struct PartitionState {
    pub topic: String,
    pub partition: u32,
    /// Brokers holding a replica, in preference order.
    pub replicas: Vec<u32>,
    pub leader: Option<u32>,
    pub isr: Vec<u32>,
    pub leader_epoch: u32,
    pub high_watermark: u64,
    /// Each replica's log, by broker.
    pub logs: BTreeMap<u32, PartitionLog>,
}

impl PartitionState {
    fn leader_log(&self) -> Result<(u32, &PartitionLog), LogError> {
        let l = self.leader.ok_or_else(|| self.no_leader())?;
        Ok((l, self.logs.get(&l).expect("the leader holds a log")))
    }

    fn no_leader(&self) -> LogError {
        LogError::LeaderNotAvailable {
            topic: self.topic.clone(),
            partition: self.partition,
        }
    }

    /// Log start, high watermark, log end (of the leader; of any replica when offline).
    pub fn offsets(&self) -> (u64, u64, u64) {
        let log = match self.leader_log() {
            Ok((_, l)) => l,
            Err(_) => match self.logs.values().next() {
                Some(l) => l,
                None => return (0, 0, 0),
            },
        };
        let hw = self.high_watermark.min(log.log_end_offset());
        (
            log.log_start_offset(),
            hw.max(log.log_start_offset()),
            log.log_end_offset(),
        )
    }

    pub fn size_bytes(&self) -> u64 {
        self.leader_log()
            .map(|(_, l)| l.size_bytes())
            .unwrap_or_else(|_| self.logs.values().next().map_or(0, |l| l.size_bytes()))
    }

    /// Appends on the leader, copies to every in-sync follower, moves the high watermark.
    pub fn produce(
        &mut self,
        records: Vec<ProducerRecord>,
        acks: Acks,
        min_insync: u32,
        now_ms: i64,
    ) -> Result<u64, LogError> {
        let refs: Vec<ProducerRef> = records.iter().map(ProducerRef::from).collect();
        self.produce_refs(&refs, acks, min_insync, now_ms)
    }

    /// `produce` of borrowed records.
    pub fn produce_refs(
        &mut self,
        records: &[ProducerRef],
        acks: Acks,
        min_insync: u32,
        now_ms: i64,
    ) -> Result<u64, LogError> {
        let leader = self.leader.ok_or_else(|| self.no_leader())?;
        if acks == Acks::All && (self.isr.len() as u32) < min_insync {
            return Err(self.not_enough(min_insync));
        }
        let epoch = self.leader_epoch;
        let log = self.logs.get_mut(&leader).expect("the leader holds a log");
        let (first, batches) = log.append_refs(records, epoch, now_ms)?;
        if acks != Acks::All {
            // Only the leader has it: the followers copy it on their next fetch.
            return Ok(first);
        }
        let mut failed = Vec::new();
        let followers: Vec<u32> = self.isr.iter().copied().filter(|&b| b != leader).collect();
        for f in followers {
            let flog = self.logs.get_mut(&f).expect("an ISR member holds a log");
            let ok = if flog.log_end_offset() == first {
                batches.iter().all(|b| flog.append_batch(b, now_ms).is_ok())
            } else {
                // Not level with the leader before this append (an earlier append failed
                // half-way): copy whatever it lacks instead of leaving a gap.
                self.catch_up(f, now_ms).is_ok()
            };
            if !ok {
                failed.push(f);
            }
        }
        // A follower that cannot take the batch leaves the ISR (it catches up later).
        self.isr.retain(|b| !failed.contains(b));
        self.update_high_watermark();
        if acks == Acks::All && (self.isr.len() as u32) < min_insync {
            return Err(self.not_enough(min_insync));
        }
        Ok(first)
    }

    /// Whether an in-sync follower lacks some of the leader's records (written with
    /// acks=1 or 0 and not fetched yet).
    pub fn lagging(&self) -> bool {
        self.leader_log()
            .is_ok_and(|(_, l)| self.high_watermark < l.log_end_offset())
    }

    /// The followers' fetch: every in-sync follower copies what it lacks from the leader
    /// (one that cannot leaves the ISR), and the high watermark moves.
    pub fn replicate(&mut self, now_ms: i64) {
        let Some(leader) = self.leader else { return };
        let followers: Vec<u32> = self.isr.iter().copied().filter(|&b| b != leader).collect();
        let mut failed = Vec::new();
        for f in followers {
            if self.catch_up(f, now_ms).is_err() {
                failed.push(f);
            }
        }
        self.isr.retain(|b| !failed.contains(b));
        self.update_high_watermark();
    }

    fn not_enough(&self, min_insync: u32) -> LogError {
        LogError::NotEnoughReplicas {
            topic: self.topic.clone(),
            partition: self.partition,
            isr: self.isr.len() as u32,
            min_insync,
        }
    }

    /// The high watermark is the smallest log end in the ISR; it never goes back.
    pub fn update_high_watermark(&mut self) {
        let min_leo = self
            .isr
            .iter()
            .filter_map(|b| self.logs.get(b))
            .map(|l| l.log_end_offset())
            .min();
        if let Some(m) = min_leo {
            self.high_watermark = self.high_watermark.max(m);
        }
        if let Ok((_, l)) = self.leader_log() {
            assert!(self.high_watermark <= l.log_end_offset(), "HW <= log end");
        }
    }

    /// Committed records from `offset` on, never past the high watermark.
    pub fn fetch(&self, offset: u64, max_records: usize) -> Result<Vec<Record>, LogError> {
        let (leader, _) = self.leader_log()?;
        self.fetch_from(leader, offset, max_records)
    }

    /// `fetch` from the replica on `broker` (an in-sync one, when the leader's is damaged).
    pub fn fetch_from(
        &self,
        broker: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<Record>, LogError> {
        let (log, hw) = self.readable(broker, offset, true)?;
        log.read(offset, hw, max_records)
    }

    /// Committed records from `offset` on as checked batch views (see `Cluster::fetch_batches`).
    pub fn fetch_batches(
        &self,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<RecordBatch>, LogError> {
        let (leader, _) = self.leader_log()?;
        self.fetch_batches_from(leader, offset, max_records)
    }

    /// `fetch_batches` from the replica on `broker`.
    pub fn fetch_batches_from(
        &self,
        broker: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<RecordBatch>, LogError> {
        let (log, hw) = self.readable(broker, offset, false)?;
        log.read_views(offset, hw, max_records)
    }

    /// The log of `broker` and the high watermark, if `offset` may be read (not below the
    /// log start; with `to_end`, not past the log end either).
    fn readable(
        &self,
        broker: u32,
        offset: u64,
        to_end: bool,
    ) -> Result<(&PartitionLog, u64), LogError> {
        let log = self.logs.get(&broker).ok_or_else(|| self.no_leader())?;
        let (start, hw, end) = self.offsets();
        if offset < start || (to_end && offset > end) {
            return Err(LogError::OffsetOutOfRange {
                topic: self.topic.clone(),
                partition: self.partition,
                offset,
                log_start: start,
                log_end: end,
            });
        }
        Ok((log, hw))
    }

    /// The first committed offset with a timestamp at or after `ts`.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<u64>, LogError> {
        let (_, log) = self.leader_log()?;
        log.offset_for_timestamp(ts, self.offsets().1)
    }

    /// Brings `follower`'s log level with the leader's: cuts what the leader does not have
    /// (found by comparing batch CRCs from the end back) and copies what it lacks. Where
    /// the leader's copy of a batch fails its checksum, the batches come from another
    /// in-sync replica, then the rest from the leader: returns that replica's broker and
    /// the leader's damage, so the caller reports it.
    pub fn catch_up(
        &mut self,
        follower: u32,
        now_ms: i64,
    ) -> Result<Option<(u32, String)>, LogError> {
        let leader = self.leader.ok_or_else(|| self.no_leader())?;
        assert_ne!(leader, follower);
        let mut flog = self
            .logs
            .remove(&follower)
            .expect("the follower holds a log");
        let leader_log = self.logs.get(&leader).expect("leader log");
        let mut r = copy_from(leader_log, &mut flog, now_ms).map(|_| None);
        if let Err(LogError::Corrupt(msg)) = &r {
            let msg = msg.clone();
            let sources = self.isr.iter().filter(|&&b| b != leader && b != follower);
            for &src in sources {
                let log = self.logs.get(&src).expect("an ISR member holds a log");
                let copied = copy_from(log, &mut flog, now_ms)
                    .and_then(|_| copy_from(leader_log, &mut flog, now_ms));
                if copied.is_ok() {
                    r = Ok(Some((src, msg)));
                    break;
                }
            }
        }
        self.logs.insert(follower, flog);
        r.map_err(|e| match e {
            LogError::Corrupt(m) => LogError::Corrupt(format!(
                "topic '{}' partition {}: copying to broker {follower}: {m} (no in-sync \
                 replica holds an intact copy)",
                self.topic, self.partition
            )),
            e => e,
        })
    }
}

fn copy_from(leader: &PartitionLog, f: &mut PartitionLog, now_ms: i64) -> Result<(), LogError> {
    truncate_divergence(leader, f, now_ms)?;
    loop {
        let at = f.log_end_offset();
        if at >= leader.log_end_offset() {
            break;
        }
        let batches = leader.read_batches(at, FETCH_READ_BYTES_MAX, usize::MAX)?;
        if batches.is_empty() {
            break;
        }
        for b in &batches {
            let h = crate::batch::parse_header(b).map_err(LogError::Corrupt)?;
            if h.next_offset() <= f.log_end_offset() {
                continue;
            }
            if h.base_offset < f.log_end_offset() {
                // Batch boundaries differ (the leader compacted): copy everything again.
                f.reset(leader.log_start_offset(), now_ms)?;
                return copy_from(leader, f, now_ms);
            }
            f.append_batch(b, now_ms)
                .map_err(|e| leader.locate(h.base_offset, e))?;
        }
    }
    assert_eq!(f.log_end_offset(), leader.log_end_offset());
    Ok(())
}

fn truncate_divergence(
    leader: &PartitionLog,
    f: &mut PartitionLog,
    now_ms: i64,
) -> Result<(), LogError> {
    if f.log_end_offset() < leader.log_start_offset()
        || f.log_start_offset() > leader.log_end_offset()
    {
        return f.reset(leader.log_start_offset(), now_ms);
    }
    if f.log_end_offset() == f.log_start_offset() {
        if f.log_start_offset() != leader.log_start_offset()
            && f.log_end_offset() < leader.log_end_offset()
        {
            f.reset(leader.log_start_offset(), now_ms)?;
        }
        return Ok(());
    }
    match f.last_common_end(leader)? {
        Some(end) => f.truncate_from(end),
        None => f.reset(leader.log_start_offset(), now_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use bytes::Bytes;

    fn pr(v: &str) -> ProducerRecord {
        ProducerRecord::new(None, Some(Bytes::from(v.to_string()))).with_timestamp(1)
    }

    fn values(log: &PartitionLog) -> Vec<Bytes> {
        log.read(0, u64::MAX, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| r.value.unwrap())
            .collect()
    }

    #[test]
    fn a_follower_that_diverged_is_cut_where_it_diverged_and_copies_the_rest() {
        let settings = Settings {
            segment_bytes: 200,
            ..Settings::default()
        };
        let mut leader = PartitionLog::in_memory(settings.clone(), 0, 0);
        let mut follower = PartitionLog::in_memory(settings, 0, 0);
        for v in ["a", "b", "c"] {
            let (_, batches) = leader.append_records(vec![pr(v)], 0, 0).unwrap();
            follower.append_batch(&batches[0], 0).unwrap();
        }
        // The follower led for a while (epoch 1) and took records nobody else has.
        follower
            .append_records(vec![pr("x"), pr("y")], 1, 0)
            .unwrap();
        follower.append_records(vec![pr("z")], 1, 0).unwrap();
        // Meanwhile the leader (epoch 2) took others.
        leader.append_records(vec![pr("d")], 2, 0).unwrap();
        leader.append_records(vec![pr("e")], 2, 0).unwrap();
        let mut st = PartitionState {
            topic: "t".into(),
            partition: 0,
            replicas: vec![1, 2],
            leader: Some(1),
            isr: vec![1],
            leader_epoch: 2,
            high_watermark: 3,
            logs: [(1, leader), (2, follower)].into_iter().collect(),
        };
        st.catch_up(2, 0).unwrap();
        assert_eq!(values(&st.logs[&2]), values(&st.logs[&1]));
        assert_eq!(values(&st.logs[&2]).len(), 5);
    }
}
