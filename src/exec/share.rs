//! Persistent queries shared by several processes of one application (`kql run --follow`
//! on Kafka, started more than once with the same `--application-id`). Each process is a
//! member of the query's consumer group; the group gives each member some partitions of
//! the query's inputs, and a process runs the tasks of those partitions only. When a member
//! joins or leaves (or dies and the group stops hearing from it), the group assigns the
//! partitions again: a task given to this process starts from the group's last committed
//! position of its partition, a task taken away stops and is no longer committed.
//!
//! An aggregate's task takes its state along: the new owner reads the task's latest
//! snapshot from the query's changelog topic (written at each commit, with the position
//! it reflects), or replays the partition up to the committed position; state is never
//! counted twice, since it is restored as of the position reading resumes from. A join
//! whose task i reads partition i of each input (co-partitioned or global) moves the same
//! way, task by task, each with its own snapshot. When a side is repartitioned first, its
//! feeder is split like an aggregation's first stage: each source partition is copied into
//! the internal topic by the process holding it, which resumes at the group's committed
//! position (the feeder has no other state). A join of joins is shared level by level:
//! the inner join's task i, in the process holding partition i of the inner join's inputs,
//! writes its rows into the internal topic whose partition j the outer join's task j reads
//! where that partition is held. A foreign-key join, which alone runs as one task over
//! every partition, is built for a shared query as one task per partition of its left
//! table (`Registry::start`), each reading the whole right table (a broadcast input: not
//! subscribed, its positions only in the task's snapshot), and its tasks move with the
//! left table's partitions. A task taken away from
//! this process lets its state go at once; it is restored from the changelog if it comes
//! back.
//!
//! Output across a hand-over: when the member has a transaction (exactly-once), the
//! process's writes, snapshots and offsets since its last commit are one transaction, so
//! rows it wrote after its last commit never become visible if it dies, and its successor
//! writes them once. A change of assignment aborts the open transaction (its work was
//! done for partitions that may have gone to another process, which starts from the last
//! commit), and so does a commit the group refuses; either way every task of this process
//! goes back to its last committed state. Without a transaction, rows a task wrote after
//! its owner's last commit are written again by the next owner: at least once.

use std::collections::{BTreeSet, HashSet};

use super::log::{LogHandle, Membership};
use super::persistent::Running;

/// This process's share of a query.
pub struct Share {
    membership: Box<dyn Membership>,
    owned: BTreeSet<(String, u32)>,
    /// The open transaction was aborted: every task this process holds goes back to its
    /// last committed state before it reads on.
    reset: bool,
}

impl Share {
    /// The log this process's tasks of the query run on: the member's transaction, or the
    /// log itself.
    pub fn writer(&self) -> Option<LogHandle> {
        self.membership.transaction().map(|t| t.log())
    }
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share").field("owned", &self.owned).finish()
    }
}

/// What sharing a query came to.
pub enum Sharing {
    /// This process is a member of the query's group.
    Shared { group: String },
    /// The log is held by this process alone (the embedded log), or the query commits no
    /// positions: nothing to share.
    Alone,
    /// The query cannot move between processes yet; the reason.
    Whole(String),
}

/// Why a query's tasks cannot move between processes, if they cannot.
fn unshareable(q: &mut Running) -> Option<String> {
    q.stages
        .iter_mut()
        .filter_map(|s| s.join.as_mut())
        .any(|j| !j.partitioned())
        .then(|| "a foreign-key join does not move between processes yet".to_string())
}

/// The topics a stage's tasks read: what the query's group subscribes to.
fn stage_topics(stage: &mut super::persistent::Stage) -> Vec<String> {
    match &mut stage.join {
        Some(join) => join.group_topics(),
        None => vec![stage.input_topic.clone()],
    }
}

/// Joins the query's consumer group, if the log is shared and the query can move.
pub fn share(log: &LogHandle, q: &mut Running) -> Result<Sharing, String> {
    let Some(group) = q.group.clone() else {
        return Ok(Sharing::Alone);
    };
    if let Some(why) = unshareable(q) {
        return Ok(Sharing::Whole(why));
    }
    let mut topics: Vec<String> = Vec::new();
    for stage in &mut q.stages {
        for t in stage_topics(stage) {
            if !topics.contains(&t) {
                topics.push(t);
            }
        }
    }
    let Some(membership) = log.join_group(&group, &topics).map_err(|e| e.to_string())? else {
        return Ok(Sharing::Alone);
    };
    // A round of a shared query is bounded: see SHARED_ROUND_RECORDS_MAX.
    for stage in &mut q.stages {
        stage.round_records_max = Some(super::limits::SHARED_ROUND_RECORDS_MAX);
        if let Some(join) = &mut stage.join {
            join.for_each_level(&mut |level| {
                level.round_records_max = Some(super::limits::SHARED_ROUND_RECORDS_MAX);
                level.owned = Some(Default::default());
            });
            for feed in join.all_repartition_feeds_mut() {
                feed.round_records_max = Some(super::limits::SHARED_ROUND_RECORDS_MAX);
                feed.owned = Some(Default::default());
            }
        }
    }
    q.share = Some(Share {
        membership,
        owned: BTreeSet::new(),
        reset: false,
    });
    Ok(Sharing::Shared { group })
}

/// Does this process run the task of `partition` of `topic`? Every task of a query that
/// is not shared.
pub fn runs(share: Option<&Share>, topic: &str, partition: u32) -> bool {
    share.is_none_or(|s| s.owned.contains(&(topic.to_string(), partition)))
}

/// Asks the group which partitions this process holds now. A task newly given to it takes
/// over from the group's last commit (state from the changelog); a task taken away lets
/// its state go. After an aborted transaction every task held takes over again.
pub fn refresh(log: &LogHandle, q: &mut Running) -> Result<(), String> {
    let Some(share) = q.share.as_mut() else {
        return Ok(());
    };
    let assigned = share.membership.assigned().map_err(|e| e.to_string())?;
    if assigned == share.owned && !share.reset {
        return Ok(());
    }
    if assigned != share.owned {
        if let Some(t) = share.membership.transaction() {
            // Work done for the previous assignment must not be committed under the new
            // one: a partition that moved is read by its new owner from the last commit.
            t.abort().map_err(|e| e.to_string())?;
            share.reset = true;
        }
    }
    let reset = std::mem::take(&mut share.reset);
    let before = std::mem::replace(&mut share.owned, assigned.clone());
    for i in 0..q.stages.len() {
        if q.stages[i].join.is_some() {
            refresh_join(log, q, i, &before, &assigned, reset)?;
            continue;
        }
        let topic = q.stages[i].input_topic.clone();
        let partitions: Vec<u32> = q.stages[i].tasks.iter().map(|t| t.partition).collect();
        for p in partitions {
            let key = (topic.clone(), p);
            let (had, has) = (before.contains(&key), assigned.contains(&key));
            if has && (reset || !had) {
                super::state::durable::take_over(log, q, i, p)?;
            } else if had && !has {
                let slot = q.stages[i].tasks.iter_mut().find(|t| t.partition == p);
                if let Some(agg) = slot.and_then(|t| t.agg.as_mut()) {
                    *agg = super::operators::aggregate::AggregateTask::new();
                }
                q.snapshots.remove(&(i, p));
            }
        }
    }
    Ok(())
}

/// `refresh` for a joined stage: a join task moves with the partition of its first input
/// (the range assignor gives one member the same partition of every input), an inner
/// join's task (a join of joins) with its own first input's, and a feeder's copy of a
/// source partition with that partition.
fn refresh_join(
    log: &LogHandle,
    q: &mut Running,
    i: usize,
    before: &BTreeSet<(String, u32)>,
    assigned: &BTreeSet<(String, u32)>,
    reset: bool,
) -> Result<(), String> {
    let Some(join) = q.stages[i].join.as_mut() else {
        return Ok(());
    };
    let moved = |key: &(String, u32)| (before.contains(key), assigned.contains(key));
    // Each task by its place among the join's state tasks (`state_tasks_mut`): the tasks
    // of level k (the join, then its inner joins depth first) follow the levels before.
    let (mut taken, mut released, mut owned) = (Vec::new(), Vec::new(), Vec::new());
    let mut at = 0;
    join.for_each_level(&mut |level| {
        let topic = level.task_topics().into_iter().next().unwrap_or_default();
        let mut mine = HashSet::new();
        for p in level.task_partitions() {
            let (had, has) = moved(&(topic.clone(), p));
            if has && (reset || !had) {
                taken.push(at);
            } else if had && !has {
                released.push(at);
            }
            if has {
                mine.insert(p);
            }
            at += 1;
        }
        owned.push(mine);
    });
    let feeds: Vec<(String, Vec<u32>)> = join
        .all_repartition_feeds_mut()
        .into_iter()
        .map(|f| (f.source_topic().to_string(), f.partitions()))
        .collect();
    let mut feeding = Vec::new();
    let mut copied = Vec::new();
    for (f, (source, partitions)) in feeds.iter().enumerate() {
        let mut mine = HashSet::new();
        for &p in partitions {
            let (had, has) = moved(&(source.clone(), p));
            if has && (reset || !had) {
                copied.push((f, p));
            }
            if has {
                mine.insert(p);
            }
        }
        feeding.push(mine);
    }
    super::state::durable::take_over_join(log, q, i, &taken).map_err(|e| e.to_string())?;
    // A task taken away lets its tables and buffers go now, not when it comes back.
    super::state::durable::release_join_tasks(log, q, i, &released).map_err(|e| e.to_string())?;
    super::state::durable::take_over_feeds(log, q, i, &copied).map_err(|e| e.to_string())?;
    if let Some(join) = q.stages[i].join.as_mut() {
        let mut owned = owned.into_iter();
        join.for_each_level(&mut |level| level.owned = owned.next());
        for (feed, mine) in join.all_repartition_feeds_mut().into_iter().zip(feeding) {
            feed.owned = Some(mine);
        }
    }
    Ok(())
}

/// Commits the member's transaction, after the query's snapshots and offsets went into it.
/// A transaction the group refused was aborted: the tasks go back to the last commit.
pub fn commit_transaction(q: &mut Running) -> Result<(), String> {
    let Some(share) = q.share.as_mut() else {
        return Ok(());
    };
    let Some(t) = share.membership.transaction() else {
        return Ok(());
    };
    if !t.commit().map_err(|e| e.to_string())? {
        share.reset = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::exec::log::{LogError, MemoryLog};
    use crate::exec::{Captured, Session};

    /// A member whose partitions the test decides.
    struct Given(Arc<Mutex<BTreeSet<(String, u32)>>>);

    impl Membership for Given {
        fn assigned(&mut self) -> Result<BTreeSet<(String, u32)>, LogError> {
            Ok(self.0.lock().unwrap().clone())
        }
    }

    /// The size of the snapshot of the join task of `partition`: its table rows.
    fn task_bytes(q: &mut Running, partition: u32) -> usize {
        let join = q.stages[0].join.as_mut().unwrap();
        let task = join.task_mut(partition).unwrap();
        let mut no_reset = || unreachable!("a snapshot does not reset the task");
        let mut state = crate::exec::operators::join::live::JoinTaskState {
            task,
            fresh: &mut no_reset,
        };
        crate::exec::state::operator_state::snapshot(&mut state)
            .unwrap()
            .len()
    }

    #[test]
    fn a_join_task_taken_away_lets_its_rows_go_and_gets_them_back_when_it_returns() {
        let log: LogHandle = Arc::new(MemoryLog::new());
        let mut session = Session::new(log.clone());
        let mut out = Captured::default();
        let mut text = String::from(
            "CREATE STREAM s (ID INT KEY, V INT) WITH (kafka_topic='s', partitions=2, value_format='JSON');
             CREATE TABLE t (ID INT PRIMARY KEY, NAME VARCHAR) WITH (kafka_topic='t', partitions=2, value_format='JSON');\n",
        );
        for id in 0..20 {
            text += &format!("INSERT INTO t (ID, NAME) VALUES ({id}, 'name-{id}');\n");
        }
        text += "CREATE STREAM j AS SELECT s.ID, s.V, t.NAME FROM s JOIN t ON s.ID = t.ID;\n";
        session.run_text("join.ksql", &text, &mut out).unwrap();
        // The query reads the table and commits its positions.
        let registry = &mut session.registry;
        registry.catch_up(&session.runtime, &log, false).unwrap();
        let q = &mut registry.queries[0];
        let all: BTreeSet<(String, u32)> = ["s", "t"]
            .iter()
            .flat_map(|t| (0..2).map(move |p| (t.to_string(), p)))
            .collect();
        let given = Arc::new(Mutex::new(all.clone()));
        q.share = Some(Share {
            membership: Box::new(Given(given.clone())),
            owned: BTreeSet::new(),
            reset: false,
        });
        q.stages[0].join.as_mut().unwrap().owned = Some(Default::default());
        // Given every partition, the tasks take over the table's rows (replayed up to the
        // positions the query committed).
        refresh(&log, q).unwrap();
        let (held, other) = (task_bytes(q, 0), task_bytes(q, 1));
        // Partition 0 goes to another process: its task's rows are freed at once.
        given.lock().unwrap().retain(|(_, p)| *p != 0);
        refresh(&log, q).unwrap();
        let released = task_bytes(q, 0);
        assert!(released < held, "{released} bytes kept of {held}");
        assert_eq!(
            task_bytes(q, 1),
            other,
            "the task still held keeps its rows"
        );
        // It comes back: its rows with it.
        *given.lock().unwrap() = all;
        refresh(&log, q).unwrap();
        assert_eq!(task_bytes(q, 0), held);
    }
}
