//! Table-table join task: both tables' partitions are materialized; an update (or delete)
//! to either side emits the joined row for its key when the join type says the key is in
//! the result (inner: both sides; left: the left side; full: either side) and the WHERE
//! condition holds. A key whose row was in the result and no longer is (a side deleted,
//! or the condition no longer true) is deleted: a tombstone, as a KTable join sends.

use std::collections::HashMap;

use bytes::Bytes;

use super::input::{pick, Input};
use super::live::{load_rows, save_rows};
use super::{fill, owned_key, part, side_offset, JoinSpec};
use crate::data::Value;
use crate::exec::error::ExecResult;
use crate::exec::state::codec::{Reader, Writer};
use crate::exec::task::{OutputRow, Task, FETCH_BATCH_RECORDS};
use crate::syntax::ast::JoinType;

pub struct TableTableTask {
    left: Input,
    right: Input,
    spec: JoinSpec,
    left_state: HashMap<Bytes, Vec<Value>>,
    right_state: HashMap<Bytes, Vec<Value>>,
    row: Vec<Value>,
}

impl TableTableTask {
    pub fn new(left: Input, right: Input, spec: JoinSpec) -> TableTableTask {
        let width = left.row.len();
        TableTableTask {
            left,
            right,
            spec,
            left_state: HashMap::new(),
            right_state: HashMap::new(),
            row: vec![Value::Null; width],
        }
    }
}

impl Task for TableTableTask {
    type Item = OutputRow;

    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> ExecResult<bool> {
        for _ in 0..FETCH_BATCH_RECORDS {
            let (lt, rt) = (self.left.peek()?, self.right.peek()?);
            let Some(from_left) = pick(lt, rt) else {
                return Ok(false);
            };
            let held = self.left_state.len() + self.right_state.len();
            let (input, state, range) = if from_left {
                (&mut self.left, &mut self.left_state, self.spec.left)
            } else {
                (&mut self.right, &mut self.right_state, self.spec.right)
            };
            let (event_time, record) = input.take().expect("peeked");
            let Some(key) = record.key.clone() else {
                continue;
            };
            let new = (!record.tombstone).then(|| part(&input.row, range));
            if new.is_some() {
                let partition = input.partition();
                self.spec.bound.check(
                    held,
                    || !state.contains_key(&key[..]),
                    || format!("the table-table join of partition {partition}"),
                    "rows of its tables",
                )?;
            }
            let old = match new {
                Some(v) => state.insert(owned_key(&key), v),
                None => state.remove(&key),
            };
            let partition = input.partition();
            let offset = side_offset(from_left, record.offset);
            let in_result = |l: bool, r: bool| match self.spec.join_type {
                JoinType::Inner => l && r,
                JoinType::Left => l,
                JoinType::Right => r,
                JoinType::Full => l || r,
            };
            let (l, r) = (self.left_state.get(&key), self.right_state.get(&key));
            if in_result(l.is_some(), r.is_some()) {
                fill(&mut self.row, self.spec.left, l.map(|v| v.as_slice()));
                fill(&mut self.row, self.spec.right, r.map(|v| v.as_slice()));
                if self.spec.ops.passes(&self.row) {
                    let first = out.len();
                    self.spec
                        .ops
                        .apply(&self.row, event_time, partition, offset, out);
                    crate::exec::row_headers::stamp(&mut out[first..], &record.headers);
                    continue;
                }
            }
            // Not in the result now: delete the key if its previous row was.
            let (old_l, old_r) = if from_left {
                (old.as_ref(), r)
            } else {
                (l, old.as_ref())
            };
            if in_result(old_l.is_some(), old_r.is_some()) {
                fill(&mut self.row, self.spec.left, old_l.map(|v| v.as_slice()));
                fill(&mut self.row, self.spec.right, old_r.map(|v| v.as_slice()));
                if self.spec.ops.passes(&self.row) {
                    let first = out.len();
                    self.spec
                        .ops
                        .apply_tombstone(&self.row, event_time, partition, offset, out);
                    crate::exec::row_headers::stamp(&mut out[first..], &record.headers);
                }
            }
        }
        Ok(true)
    }

    fn inputs(&mut self) -> Vec<&mut Input> {
        vec![&mut self.left, &mut self.right]
    }

    fn save(&self, w: &mut Writer) {
        save_rows(w, &self.left_state);
        save_rows(w, &self.right_state);
    }

    fn load(&mut self, r: &mut Reader) -> Result<(), String> {
        self.left_state = load_rows(r)?;
        self.right_state = load_rows(r)?;
        Ok(())
    }
}
