//! A persistent query's filter/project task: one partition of its input through the
//! stateless pipeline (`pipeline.rs`), the rows handed on.

use std::sync::Arc;

use crate::data::Value;
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::operators::partition_input::PartitionInput;
use crate::exec::persistent::{StageKind, TaskSlot};
use crate::exec::task::{BadRecord, OutputRow, Task, TaskStats};

pub(crate) struct FilterProjectTask {
    input: PartitionInput,
    /// The stage's kind: `Stateless` with its pipeline.
    kind: Arc<StageKind>,
    row: Vec<Value>,
    bad: Vec<BadRecord>,
}

impl FilterProjectTask {
    pub(crate) fn new(input: PartitionInput, kind: Arc<StageKind>) -> FilterProjectTask {
        FilterProjectTask {
            input,
            kind,
            row: Vec::new(),
            bad: Vec::new(),
        }
    }

    /// The task's place, to keep between runs.
    pub(crate) fn into_slot(self) -> TaskSlot {
        self.input.slot
    }
}

impl Task for FilterProjectTask {
    type Item = OutputRow;

    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> ExecResult<bool> {
        let StageKind::Stateless(pipeline) = &*self.kind else {
            return Err(ExecError::internal(
                "a filter/project task of another stage",
            ));
        };
        let Some((slot, records)) = self.input.next_batch()? else {
            return Ok(false);
        };
        let processed =
            pipeline.process(slot.partition, records, &mut self.row, out, &mut self.bad);
        self.input
            .finish_batch(processed.map_err(ExecError::from), &mut self.bad)?;
        Ok(true)
    }

    fn stats(&mut self) -> TaskStats {
        self.input.stats()
    }
}
