//! Repartitioning a join side: every record of the source is decoded, its join key
//! computed, and the row written to an internal topic keyed by that key, so the
//! partitioner puts equal keys on equal partitions. The record keeps its event time as
//! its timestamp; the value holds all the source's columns (the key is only for routing).
//! The feed keeps its position in each source partition, so a persistent query copies only
//! what arrived since its last catch-up. Each source partition is a unit of the driver, and
//! the records are appended in the merged (event time, partition, offset) order. A durable query's records carry a tag naming
//! their source record, so a restart after a crash does not copy a record twice.

use std::collections::HashSet;
use std::sync::Arc;

use crate::exec::log::LogHandle;
use bytes::Bytes;

use super::input::Input;
use crate::diagnostic::Diagnostic;
use crate::exec::decode::SourceDecoder;
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::persistent::Encoded;
use crate::exec::physical::{ranges, Repartition, StartAt};
use crate::exec::sinks::append::run_appending;
use crate::exec::sinks::repartition::RepartitionWriter;
use crate::exec::task::{PartitionReader, Task, TaskStats, FETCH_BATCH_RECORDS};
use crate::plan::logical::Source;
use crate::plan::schema::PSEUDO_COLUMNS;

pub struct RepartitionFeed {
    writer: Arc<RepartitionWriter>,
    source: Source,
    pub(super) topic: String,
    /// One per partition of the source.
    pub(super) inputs: Vec<Input>,
    pub(super) skip: Arc<HashSet<Bytes>>,
    /// The source partitions this process copies (a join shared by several processes,
    /// `exec/share.rs`); None: every partition.
    pub(crate) owned: Option<HashSet<u32>>,
    /// The most records copied from each source partition in one run (a shared join).
    pub(crate) round_records_max: Option<u64>,
}

impl RepartitionFeed {
    /// Creates the internal topic (kept when it exists: a restarted query's).
    pub fn new(
        log: &LogHandle,
        r: &Repartition,
        source: &Source,
        base: usize,
        topic: &str,
        start: StartAt,
        tagged: bool,
    ) -> Result<RepartitionFeed, Diagnostic> {
        super::create_internal_topic(log, topic, r.partitions)?;
        let decoder = SourceDecoder::new(source, base);
        let width = base + source.schema.len();
        let inputs = ranges(log, &source.topic, start)?
            .into_iter()
            .map(|range| {
                Input::new(
                    PartitionReader::new(log.clone(), source.topic.clone(), range),
                    decoder.clone(),
                    width,
                )
            })
            .collect();
        // Every column of the source (the key too, which the reader takes from the value).
        let columns = source.schema.fields[PSEUDO_COLUMNS.len()..]
            .iter()
            .enumerate()
            .map(|(i, f)| {
                (
                    f.name.clone(),
                    f.ty.clone(),
                    base + PSEUDO_COLUMNS.len() + i,
                )
            })
            .collect();
        Ok(RepartitionFeed {
            writer: Arc::new(RepartitionWriter::new(
                r,
                topic.to_string(),
                columns,
                tagged,
            )),
            source: source.clone(),
            topic: topic.to_string(),
            inputs,
            skip: Arc::default(),
            owned: None,
            round_records_max: None,
        })
    }

    /// The source topic it copies.
    pub(crate) fn source_topic(&self) -> &str {
        &self.source.topic
    }

    /// The source partitions it copies, in order.
    pub(crate) fn partitions(&self) -> Vec<u32> {
        self.inputs.iter().map(|i| i.partition()).collect()
    }

    /// Its reader of a source partition.
    pub(crate) fn input_mut(&mut self, partition: u32) -> Option<&mut Input> {
        self.inputs.iter_mut().find(|i| i.partition() == partition)
    }

    /// Copies the records appended to the source since the last run: a unit of the
    /// driver per source partition this process copies, their records appended in the
    /// merged order.
    pub fn run(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
    ) -> ExecResult<TaskStats> {
        let failed = format!(
            "repartitioning {} into '{}' failed",
            self.source.name, self.topic
        );
        // Partitions another process copies wait aside.
        let (mut mine, aside): (Vec<Input>, Vec<Input>) = self.inputs.drain(..).partition(|i| {
            self.owned
                .as_ref()
                .is_none_or(|owned| owned.contains(&i.partition()))
        });
        self.inputs = aside;
        for input in &mut mine {
            if let Err(e) = input.resume_at_most(log, self.round_records_max) {
                self.inputs.append(&mut mine);
                self.inputs.sort_by_key(|i| i.partition());
                return Err(ExecError::from(e).context(&failed));
            }
        }
        let units: Vec<FeedUnit> = mine
            .into_iter()
            .map(|input| FeedUnit {
                input,
                table: self.source.kind != crate::syntax::ast::SourceKind::Stream,
                writer: self.writer.clone(),
                skip: self.skip.clone(),
                log: log.clone(),
                stats: TaskStats::default(),
            })
            .collect();
        let ran = run_appending(runtime, log, &self.topic, units);
        let mut stats = TaskStats::default();
        for mut u in ran.units {
            stats.merge(u.stats());
            self.inputs.push(u.input);
        }
        self.inputs.sort_by_key(|i| i.partition());
        match ran.failure {
            Some(e) => Err(e.context(failed)),
            None => Ok(stats),
        }
    }
}

/// One partition of a repartitioned source, as the driver runs it: its records re-keyed.
struct FeedUnit {
    input: Input,
    /// The source is a table: its tombstones are passed on.
    table: bool,
    writer: Arc<RepartitionWriter>,
    skip: Arc<HashSet<Bytes>>,
    log: LogHandle,
    stats: TaskStats,
}

impl Task for FeedUnit {
    type Item = Encoded;

    fn next_batch(&mut self, out: &mut Vec<Encoded>) -> ExecResult<bool> {
        let partition = self.input.partition();
        let mut more = true;
        for _ in 0..FETCH_BATCH_RECORDS {
            let Some(event_time) = self.input.peek()? else {
                more = false;
                break;
            };
            let (_, record) = self.input.take().expect("peeked");
            if record.tombstone {
                // A table's deletion reaches the join keyed as its rows are; a stream has
                // none (and a record without a key deletes nothing).
                if self.table && record.key.is_some() {
                    let key = self.writer.key_values(&self.input.row);
                    self.writer.encode_deletion(
                        &self.log,
                        &self.skip,
                        &key,
                        event_time,
                        partition,
                        record.offset,
                        &record.headers,
                        out,
                    )?;
                }
                continue;
            }
            let row = &self.input.row;
            let key = self.writer.key_values(row);
            self.writer.encode(
                &self.log,
                &self.skip,
                &key,
                row,
                event_time,
                partition,
                record.offset,
                0,
                None,
                &record.headers,
                out,
            )?;
        }
        self.stats.merge(std::mem::take(&mut self.input.stats));
        Ok(more)
    }

    fn stats(&mut self) -> TaskStats {
        std::mem::take(&mut self.stats)
    }
}
