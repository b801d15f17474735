//! An aggregation's task: one partition of the aggregation's input, its groups and
//! windows (`AggregateTask`) updated batch by batch, the rows they emit handed on. Whether
//! the end of the input closes every open window (the end of a bounded run) is the task's
//! own property (`Task::close_at_end`), so whoever runs it has no special case for it.

use std::sync::Arc;

use crate::exec::error::{ExecError, ExecResult};
use crate::exec::operators::partition_input::PartitionInput;
use crate::exec::persistent::{StageKind, TaskSlot};
use crate::exec::task::{BadRecord, OutputRow, Task, TaskStats};

pub(crate) struct AggregatingTask {
    input: PartitionInput,
    /// The stage's kind: an `Aggregate` with its spec.
    kind: Arc<StageKind>,
    close: bool,
    bad: Vec<BadRecord>,
}

impl AggregatingTask {
    pub(crate) fn new(input: PartitionInput, kind: Arc<StageKind>) -> AggregatingTask {
        AggregatingTask {
            input,
            kind,
            close: false,
            bad: Vec::new(),
        }
    }

    /// The task's place and state, to keep between runs.
    pub(crate) fn into_slot(self) -> TaskSlot {
        self.input.slot
    }
}

impl Task for AggregatingTask {
    type Item = OutputRow;

    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> ExecResult<bool> {
        let StageKind::Aggregate(spec) = &*self.kind else {
            return Err(ExecError::internal("an aggregating task of another stage"));
        };
        let Some((slot, records)) = self.input.next_batch()? else {
            // The end of the input (or Ctrl-C): open windows close if the run ends here.
            let slot = &mut self.input.slot;
            if let (true, Some(groups)) = (self.close, slot.agg.as_mut()) {
                groups.close(spec, slot.partition, slot.offset, true, out);
            }
            return Ok(false);
        };
        let partition = slot.partition;
        let processed = match slot.agg.as_mut() {
            Some(groups) => groups.process(spec, partition, records, &mut self.bad, out),
            None => Err(ExecError::internal(
                "an aggregating task without its groups",
            )),
        };
        self.input.finish_batch(processed, &mut self.bad)?;
        Ok(true)
    }

    /// What it read and skipped, and the records it dropped as late.
    fn stats(&mut self) -> TaskStats {
        self.input.stats()
    }

    fn close_at_end(&mut self, close: bool) {
        self.close = close;
    }
}
