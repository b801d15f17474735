//! The one interface durability has to an operator's state: a snapshot of it as bytes,
//! its restore, and how far it has consumed its inputs. An aggregation task (one input
//! partition, its groups) and a join (every task's tables and window buffers, with the
//! positions of all its inputs) both implement it, so `durable.rs` writes, reads and
//! skips snapshots the same way for every stateful operator.

use crate::exec::error::ExecResult;

pub(crate) trait OperatorState {
    /// The state as bytes (`state_codec`'s layout).
    fn snapshot(&mut self) -> ExecResult<Vec<u8>>;
    /// Puts back a snapshot that was taken when the operator had consumed `consumed`.
    /// An error leaves the operator as it was before, or as a newly built one.
    fn restore(&mut self, bytes: &[u8], consumed: u64) -> ExecResult<()>;
    /// How far the operator has read its inputs: a number that grows whenever it reads
    /// anything (the next offset of its one input partition, or the sum of its inputs'
    /// positions), kept in the snapshot's manifest. A snapshot is written only when it
    /// moved since the last one.
    fn consumed(&mut self) -> ExecResult<u64>;
}
