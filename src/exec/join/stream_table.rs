//! Stream-table join task: the table's partition is materialized in a hash map keyed by
//! its key bytes; each stream record looks up its key. Table updates change state only;
//! stream records produce output. Both are taken in timestamp order.

use std::collections::HashMap;

use bytes::Bytes;

use super::input::{pick, Input};
use super::live::{load_rows, save_rows, Resumable};
use super::{fill_used, owned_key, part, used_fields, JoinSpec};
use crate::data::Value;
use crate::exec::aggregate::FastHash;
use crate::exec::error::ExecResult;
use crate::exec::state_codec::{Reader, Writer};
use crate::exec::task::{OutputRow, Task, TaskStats, FETCH_BATCH_RECORDS};
use crate::syntax::ast::JoinType;

pub struct StreamTableTask {
    stream: Input,
    table: Input,
    spec: JoinSpec,
    /// Keys are the table's own record keys: the aggregation's fast hash.
    state: HashMap<Bytes, Vec<Value>, FastHash>,
    /// The table's fields the operators read, and a buffer for each stream record's key.
    right_used: Vec<usize>,
    key: Vec<u8>,
}

impl StreamTableTask {
    pub fn new(stream: Input, table: Input, spec: JoinSpec) -> StreamTableTask {
        StreamTableTask {
            right_used: used_fields(&spec.ops, spec.right),
            stream,
            table,
            spec,
            state: HashMap::default(),
            key: Vec::new(),
        }
    }
}

impl Task for StreamTableTask {
    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> ExecResult<bool> {
        for _ in 0..FETCH_BATCH_RECORDS {
            let (ts, tt) = (self.stream.peek()?, self.table.peek()?);
            match pick(ts, tt) {
                None => return Ok(false),
                Some(false) => {
                    let (_, record) = self.table.take().expect("peeked");
                    let key = record.key.clone();
                    match (key, !record.tombstone) {
                        (Some(k), true) => {
                            let state = &self.state;
                            self.spec.bound.check(
                                state.len(),
                                || !state.contains_key(&k[..]),
                                || {
                                    format!(
                                        "the stream-table join of partition {}",
                                        self.table.partition()
                                    )
                                },
                                "table rows",
                            )?;
                            self.state
                                .insert(owned_key(&k), part(&self.table.row, self.spec.right));
                        }
                        (Some(k), false) => {
                            self.state.remove(&k);
                        }
                        (None, _) => {} // a table row without a key cannot be looked up
                    }
                }
                Some(true) => {
                    let (event_time, record) = self.stream.take().expect("peeked");
                    if record.tombstone {
                        continue;
                    }
                    let partition = self.stream.partition();
                    let row = &mut self.stream.row;
                    let found = self
                        .spec
                        .key_into(&self.spec.left_key, row, &mut self.key)
                        .then(|| self.state.get(&self.key[..]))
                        .flatten();
                    if found.is_none() && self.spec.join_type == JoinType::Inner {
                        continue;
                    }
                    let right = found.map(|v| v.as_slice());
                    fill_used(row, self.spec.right.0, &self.right_used, right);
                    self.spec
                        .ops
                        .apply(row, event_time, partition, record.offset, out);
                }
            }
        }
        Ok(true)
    }

    fn stats(&mut self) -> TaskStats {
        let mut s = std::mem::take(&mut self.stream.stats);
        s.merge(std::mem::take(&mut self.table.stats));
        s
    }
}

impl Resumable for StreamTableTask {
    fn inputs(&mut self) -> Vec<&mut Input> {
        vec![&mut self.stream, &mut self.table]
    }

    fn save(&self, w: &mut Writer) {
        save_rows(w, &self.state);
    }

    fn load(&mut self, r: &mut Reader) -> Result<(), String> {
        self.state = load_rows(r)?;
        Ok(())
    }
}
