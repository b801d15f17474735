//! Failover: after a broker stops or starts (and when a durable cluster opens), elect
//! leaders from the ISR (never from outside it), shrink and grow ISRs, and replace stopped
//! replicas with new ones on healthy brokers that copy the leader, so the replication
//! factor comes back.

use super::{Cluster, TopicConfig};
use crate::error::LogError;
use crate::replica::PartitionState;

impl Cluster {
    /// Elects leaders, shrinks and grows ISRs and restores replication factors after a
    /// change of live brokers. Caller holds `admin`.
    pub(super) fn heal_all(&self, now: i64) -> Result<(), LogError> {
        let alive = self.alive();
        let is_alive = |b: u32| alive.get(b as usize - 1).copied().unwrap_or(false);
        let mut load = vec![0u32; self.inner.brokers as usize + 1];
        for t in self.all_topics() {
            for p in &t.partitions {
                for &r in &p.read().unwrap().replicas {
                    load[r as usize] += 1;
                }
            }
        }
        for t in self.all_topics() {
            for p in &t.partitions {
                let mut st = p.write().unwrap();
                self.heal(&mut st, &t.config, &is_alive, &mut load, now)?;
            }
        }
        Ok(())
    }

    fn heal(
        &self,
        st: &mut PartitionState,
        config: &TopicConfig,
        is_alive: &dyn Fn(u32) -> bool,
        load: &mut [u32],
        now: i64,
    ) -> Result<(), LogError> {
        // 1. Leadership: keep a live leader; else the first live ISR member (no unclean
        //    election: a replica outside the ISR may lack acknowledged records).
        if !st.leader.is_some_and(is_alive) {
            let next = st.isr.iter().copied().find(|&b| is_alive(b));
            if next.is_some() {
                st.leader_epoch += 1;
            }
            st.leader = next;
        }
        let Some(leader) = st.leader else {
            return Ok(()); // offline: the ISR stays as it was until one of it returns
        };
        // 2. The ISR holds live replicas only; live replicas out of it catch up and join.
        st.isr.retain(|&b| is_alive(b));
        let lagging: Vec<u32> = st
            .replicas
            .iter()
            .copied()
            .filter(|&b| is_alive(b) && !st.isr.contains(&b))
            .collect();
        for b in lagging {
            // One that cannot copy (every in-sync copy of a batch is damaged) stays out of
            // the ISR, reported; the other partitions heal all the same.
            if self.copied(st, b, now) {
                st.isr.push(b);
            }
        }
        // 3. A stopped replica is replaced by a live broker that holds none of this
        //    partition, which copies the leader's log.
        let dead: Vec<u32> = st
            .replicas
            .iter()
            .copied()
            .filter(|&b| !is_alive(b))
            .collect();
        for d in dead {
            let spare = (1..=self.inner.brokers)
                .filter(|&b| is_alive(b) && !st.replicas.contains(&b))
                .min_by_key(|&b| (load[b as usize], b));
            let Some(s) = spare else { break };
            let start = st.offsets().0;
            let log = self.new_log(s, &st.topic, st.partition, config, start, now)?;
            st.logs.insert(s, log);
            if !self.copied(st, s, now) {
                // The partition stays under-replicated rather than take a partial copy.
                if let Some(spare) = st.logs.remove(&s) {
                    spare.delete()?;
                }
                continue;
            }
            if let Some(old) = st.logs.remove(&d) {
                old.delete()?;
            }
            let i = st
                .replicas
                .iter()
                .position(|&b| b == d)
                .expect("dead replica");
            st.replicas[i] = s;
            st.isr.push(s);
            load[d as usize] -= 1;
            load[s as usize] += 1;
        }
        debug_assert!(st.isr.contains(&leader));
        st.update_high_watermark();
        Ok(())
    }
}

/// On open: an intact ISR member leads over a damaged one, then the one with the longest
/// log (an acknowledged record is on every ISR member, and a leader that lost an unsynced
/// tail must not cut its followers'). A damaged replica that looks longest, because its
/// damage hid nothing at the end, still yields to an intact one.
pub(super) fn elect_on_open(st: &mut PartitionState, intact: &dyn Fn(u32) -> bool) {
    let candidates: Vec<u32> = if st.isr.is_empty() {
        st.replicas.clone()
    } else {
        st.isr.clone()
    };
    let best = candidates
        .iter()
        .copied()
        .filter(|b| st.logs.contains_key(b))
        .max_by_key(|&b| {
            (
                intact(b),
                st.logs[&b].log_end_offset(),
                Some(b) == st.leader,
            )
        });
    if best != st.leader {
        st.leader_epoch += 1;
    }
    st.leader = best;
    st.isr = st.leader.into_iter().collect();
}
