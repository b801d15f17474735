//! The one interface durability has to a stateful task, and the one byte layout of its
//! snapshot. An aggregation task (one input partition, its groups) and a join task (its
//! tables or window buffers, one position per input) both implement it, so `durable.rs`
//! writes, restores and rebuilds every stateful task the same way: one snapshot per task,
//! in its own partition of its operator's changelog, holding the positions of the task's
//! inputs followed by its state, so that positions and state always agree.

use crate::exec::error::{ExecError, ExecResult};
use crate::exec::log::LogHandle;
use crate::exec::state::codec::{Reader, Writer};

/// Where a task is in one of its inputs: topic, partition, next offset.
pub(crate) type Position = (String, u32, u64);

pub(crate) trait OperatorState {
    /// The task's place in each of its inputs, always in the same order.
    fn positions(&mut self) -> ExecResult<Vec<Position>>;
    /// Moves the task to `offsets` (one per input, in `positions`' order).
    fn seek(&mut self, offsets: &[u64]) -> ExecResult<()>;
    /// The task's state (groups, tables, window buffers), without its positions.
    fn save_state(&mut self, w: &mut Writer) -> ExecResult<()>;
    /// Puts back what `save_state` wrote. An error may leave part of it put back: the
    /// caller then `reset`s the task.
    fn load_state(&mut self, r: &mut Reader) -> ExecResult<()>;
    /// The task with no state, each input at its beginning (its log start), from where a
    /// replay rebuilds the state.
    fn reset(&mut self, log: &LogHandle) -> ExecResult<()>;
    /// Rebuilds the state by reading each input from its position up to `until` (one
    /// offset per input), emitting nothing; with `close`, its windows close at the end,
    /// as they had when those positions were committed.
    fn replay(&mut self, log: &LogHandle, until: &[u64], close: bool) -> ExecResult<()>;
}

/// How far a task has read its inputs: the sum of its positions, which grows whenever it
/// reads anything (a snapshot is written only when it moved).
pub(crate) fn consumed(state: &mut dyn OperatorState) -> ExecResult<u64> {
    Ok(state.positions()?.iter().map(|(_, _, next)| next).sum())
}

/// A task's snapshot: the number of its inputs and the next offset of each, then its
/// state.
pub(crate) fn snapshot(state: &mut dyn OperatorState) -> ExecResult<Vec<u8>> {
    let positions = state.positions()?;
    let mut w = Writer(Vec::new());
    w.u32(positions.len());
    for (_, _, next) in &positions {
        w.u64(*next);
    }
    state.save_state(&mut w)?;
    Ok(w.0)
}

/// Puts a snapshot back: positions and state. An error (a snapshot of another task or
/// another version) may leave part of it put back.
pub(crate) fn restore(state: &mut dyn OperatorState, bytes: &[u8]) -> ExecResult<()> {
    let mismatch = || ExecError::from("the snapshot is of another task".to_string());
    let mut r = Reader::new(bytes);
    let inputs = state.positions()?.len();
    if r.count()? != inputs {
        return Err(mismatch());
    }
    let mut offsets = Vec::with_capacity(inputs);
    for _ in 0..inputs {
        offsets.push(r.u64()?);
    }
    state.load_state(&mut r)?;
    if !r.at_end() {
        return Err(mismatch());
    }
    state.seek(&offsets)
}
