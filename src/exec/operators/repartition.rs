//! A repartition's task: one partition of a GROUP BY's input re-keyed by the GROUP BY
//! expressions into the query's internal topic, its records (`RepartitionWriter`'s)
//! handed to the driver to append. Over a table it keeps the table's rows (its slot's
//! state) to retract a row from the group it leaves.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use crate::data::Value;
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::log::LogHandle;
use crate::exec::operators::partition_input::PartitionInput;
use crate::exec::persistent::{repartition, Encoded, StageKind, TaskSlot};
use crate::exec::task::{BadRecord, Task, TaskStats};

pub(crate) struct RepartitionTask {
    log: LogHandle,
    input: PartitionInput,
    /// The stage's kind: a `Repartition` with its scanner and writer.
    kind: Arc<StageKind>,
    /// Records already in the internal topic (written before a crash): not written again.
    skip: Arc<HashSet<Bytes>>,
    row: Vec<Value>,
    bad: Vec<BadRecord>,
}

impl RepartitionTask {
    pub(crate) fn new(
        log: &LogHandle,
        input: PartitionInput,
        kind: Arc<StageKind>,
        skip: Arc<HashSet<Bytes>>,
    ) -> RepartitionTask {
        RepartitionTask {
            log: log.clone(),
            input,
            kind,
            skip,
            row: Vec::new(),
            bad: Vec::new(),
        }
    }

    /// The task's place and state, to keep between runs.
    pub(crate) fn into_slot(self) -> TaskSlot {
        self.input.slot
    }
}

impl Task for RepartitionTask {
    type Item = Encoded;

    fn next_batch(&mut self, out: &mut Vec<Encoded>) -> ExecResult<bool> {
        let StageKind::Repartition {
            pipeline,
            writer,
            table,
        } = &*self.kind
        else {
            return Err(ExecError::internal("a repartition task of another stage"));
        };
        let Some((slot, records)) = self.input.next_batch()? else {
            return Ok(false);
        };
        let partition = slot.partition;
        let rows = table.then(|| slot.agg.as_mut().map(|a| &mut a.table));
        let processed = repartition(
            &self.log,
            pipeline,
            writer,
            &self.skip,
            rows.flatten(),
            partition,
            records,
            &mut self.row,
            &mut self.bad,
            out,
        );
        self.input
            .finish_batch(processed.map_err(ExecError::from), &mut self.bad)?;
        Ok(true)
    }

    fn stats(&mut self) -> TaskStats {
        self.input.stats()
    }
}
