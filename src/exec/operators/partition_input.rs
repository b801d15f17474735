//! The one input of a stage's task: a partition of the stage's input topic, read batch
//! by batch, with the task's place in it (`TaskSlot`: partition, next offset, state), the
//! records read counted and a caller's Ctrl-C seen between batches. The aggregate,
//! repartition and filter/project tasks each read through one.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::exec::error::{ExecError, ExecResult};
use crate::exec::log::LogHandle;
use crate::exec::output::Progress;
use crate::exec::persistent::TaskSlot;
use crate::exec::task::{BadRecord, PartitionRange, PartitionReader, Records, TaskStats};

pub(crate) struct PartitionInput {
    reader: PartitionReader,
    pub(crate) slot: TaskSlot,
    progress: Option<Arc<Progress>>,
    pub(crate) stats: TaskStats,
    late_before: u64,
    read_before: u64,
}

impl PartitionInput {
    /// Reads `topic` from the slot's offset up to `end`.
    pub(crate) fn new(
        log: &LogHandle,
        topic: &str,
        slot: TaskSlot,
        end: u64,
        progress: Option<Arc<Progress>>,
    ) -> PartitionInput {
        let range = PartitionRange {
            partition: slot.partition,
            start: slot.offset,
            end,
        };
        PartitionInput {
            reader: PartitionReader::new(log.clone(), topic.to_string(), range),
            late_before: slot.agg.as_ref().map_or(0, |a| a.late_records),
            slot,
            progress,
            stats: TaskStats::default(),
            read_before: 0,
        }
    }

    /// The next batch of records, or None at the end of the range (the slot then at its
    /// end) or when the caller cancelled (Ctrl-C: what was read so far is the result).
    /// The records borrow the reader; the slot (the task's state) is handed out beside
    /// them. Each batch is followed by `finish_batch`.
    pub(crate) fn next_batch(&mut self) -> ExecResult<Option<(&mut TaskSlot, Records<'_>)>> {
        if self
            .progress
            .as_ref()
            .is_some_and(|p| p.cancel.load(Ordering::Relaxed))
        {
            return Ok(None);
        }
        self.read_before = self.reader.records_read();
        if !self.reader.ready()? {
            // The range can end past the last record (Kafka's transaction markers).
            let end = self.reader.position()?;
            self.slot.offset = self.slot.offset.max(end);
            return Ok(None);
        }
        match self.reader.next_batch()? {
            Some(records) => Ok(Some((&mut self.slot, records))),
            None => Err(ExecError::internal("a reader with records gave none")),
        }
    }

    /// After a batch: counts what it read and, when it was processed, moves the slot past
    /// it and counts its bad records.
    pub(crate) fn finish_batch(
        &mut self,
        processed: ExecResult<()>,
        bad: &mut Vec<BadRecord>,
    ) -> ExecResult<()> {
        let read = self.reader.records_read() - self.read_before;
        self.stats.records_read += read;
        if let Some(p) = &self.progress {
            p.records_read.fetch_add(read, Ordering::Relaxed);
        }
        processed?;
        self.slot.offset = self.reader.position()?;
        self.stats.add_bad(std::mem::take(bad));
        Ok(())
    }

    /// The counters since the last call, late records (an aggregation's) included.
    pub(crate) fn stats(&mut self) -> TaskStats {
        let late = self.slot.agg.as_ref().map_or(0, |a| a.late_records);
        self.stats.late_records = late - self.late_before;
        self.late_before = late;
        std::mem::take(&mut self.stats)
    }
}
