//! A process's share of a persistent query: it is a member of the query's consumer group
//! (`<app>-<query id>`), subscribed to the query's input topics with the `range` assignor,
//! which gives each member the same partition numbers of every co-partitioned input. The
//! member never hands records to the query: its partitions are paused, and the query's
//! tasks read them as on any log. It is polled for its assignment (a rebalance is served
//! there), and the query's offset commits go through it, with the group's generation.
//! Under exactly-once the member also has a transaction (`transaction.rs`) that the
//! query's writes and commits go through.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kql_runtime::LogError;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::context::Context;
use super::groups::GroupClients;
use super::transaction::KafkaTransaction;
use super::KafkaLog;
use crate::exec::log::{Membership, Transaction};

/// How long the group waits for a member that stopped answering (kill -9) before its
/// partitions go to the others, unless the client properties say otherwise. Kafka's
/// default (45 s) would leave partitions unread that long.
const SESSION_TIMEOUT_MS: &str = "10000";
const HEARTBEAT_INTERVAL_MS: &str = "3000";
/// The most records a poll of the member drains (records fetched before their partition
/// was paused; the tasks read them again through their own consumers).
const DRAIN_MAX: usize = 1000;

pub struct KafkaMember {
    group: String,
    consumer: Arc<BaseConsumer<Context>>,
    groups: GroupClients,
    /// Under exactly-once, the member's writes and commits go through its transaction.
    transaction: Option<KafkaTransaction>,
}

impl KafkaLog {
    pub(super) fn member(
        &self,
        group: &str,
        topics: &[String],
        exactly_once: bool,
    ) -> Result<KafkaMember, LogError> {
        let mut overrides = vec![
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("partition.assignment.strategy", "range"),
            ("isolation.level", "read_committed"),
            ("queued.max.messages.kbytes", "64"),
        ];
        for (name, default) in [
            ("session.timeout.ms", SESSION_TIMEOUT_MS),
            ("heartbeat.interval.ms", HEARTBEAT_INTERVAL_MS),
        ] {
            if !self.has_property(name) {
                overrides.push((name, default));
            }
        }
        let consumer: BaseConsumer<Context> = self.client(&overrides)?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&names)
            .map_err(|e| self.failed().error(&e, &format!("group '{group}'")))?;
        let consumer = Arc::new(consumer);
        let transaction = exactly_once
            .then(|| KafkaTransaction::new(self, group, consumer.clone()))
            .transpose()?;
        self.groups.set_member(group, consumer.clone());
        Ok(KafkaMember {
            group: group.to_string(),
            consumer,
            groups: self.groups.clone(),
            transaction,
        })
    }
}

impl Membership for KafkaMember {
    fn assigned(&mut self) -> Result<BTreeSet<(String, u32)>, LogError> {
        for _ in 0..DRAIN_MAX {
            match self.consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) if super::errors::is_transient(&e) => {}
                Some(Err(e)) => return Err(self.error(&e)),
            }
        }
        let assignment = self.consumer.assignment().map_err(|e| self.error(&e))?;
        if assignment.count() > 0 {
            // A new assignment starts unpaused; pausing again is local and cheap.
            let _ = self.consumer.pause(&assignment);
        }
        Ok(assignment
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition() as u32))
            .collect())
    }

    fn transaction(&self) -> Option<&dyn Transaction> {
        self.transaction.as_ref().map(|t| t as &dyn Transaction)
    }
}

impl KafkaMember {
    fn error(&self, e: &rdkafka::error::KafkaError) -> LogError {
        LogError::Client(format!("consumer group '{}': {e}", self.group))
    }
}

impl Drop for KafkaMember {
    /// Commits made from now on for the group are not a member's.
    fn drop(&mut self) {
        self.groups.forget(&self.group);
    }
}
