//! The bound on a join task's state (`limits::JOIN_ROWS_PER_TASK_MAX`): a record that
//! would add a row past it stops the query with KQL0604, as an aggregation's groups do.
//! The check is a comparison per record that adds a row; the lookup of whether a key is
//! new happens only at the bound.

use crate::diagnostic::{Code, Diagnostic};
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::limits::{state_rows_max, JOIN_ROWS_PER_TASK_MAX};

/// The most rows a join task holds, and what its rows are, for the message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowBound {
    pub(crate) max: usize,
}

impl Default for RowBound {
    fn default() -> RowBound {
        RowBound {
            max: state_rows_max(JOIN_ROWS_PER_TASK_MAX),
        }
    }
}

impl RowBound {
    /// Ok while a task holding `held` rows may add one more (`adds`: whether the record
    /// adds a row at all, asked only at the bound); else the query's KQL0604, saying that
    /// `what` (`the stream-table join of partition 0`) holds `held` `rows`.
    pub(crate) fn check(
        &self,
        held: usize,
        adds: impl FnOnce() -> bool,
        what: impl FnOnce() -> String,
        rows: &str,
    ) -> ExecResult<()> {
        if held < self.max || !adds() {
            return Ok(());
        }
        let d = Diagnostic::new(
            Code::StateLimit,
            format!(
                "{} holds {held} {rows}, the most one task keeps, and a record would add one more",
                what()
            ),
        )
        .help(
            "fewer distinct keys, a shorter window or grace period (stream-stream joins), or \
             more partitions keep the state smaller",
        );
        Err(ExecError::Diagnosed(d))
    }
}
