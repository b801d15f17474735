//! Stream-table join task: the table's partition is materialized in a hash map keyed by
//! its key bytes; each stream record looks up its key. Table updates change state only;
//! stream records produce output. Both are taken in timestamp order.
//!
//! The map keeps of each table row only the fields the query reads, in the map's own
//! slot when they are few: a lookup per stream record then touches the slot and nothing
//! else. A whole row (its pseudo-columns and every field, 40 bytes a value, behind a
//! pointer) made the table of a few thousand keys outgrow the cache, and each lookup
//! waited for memory. Snapshots still hold rows at the side's full width (unread fields
//! NULL), the layout they always had.

use std::collections::HashMap;

use super::input::{pick, Input};
use super::{used_fields, JoinSpec};
use crate::data::Value;
use crate::exec::error::ExecResult;
use crate::exec::operators::aggregate::{FastHash, KeyBytes};
use crate::exec::state::codec::{Reader, Writer};
use crate::exec::task::{OutputRow, Task, FETCH_BATCH_RECORDS};
use crate::syntax::ast::JoinType;

/// The fields of a table row that the query reads, inline up to two.
type UsedFields = smallvec::SmallVec<[Value; 2]>;

pub struct StreamTableTask {
    stream: Input,
    table: Input,
    spec: JoinSpec,
    /// Keys are the table's own record keys: the aggregation's fast hash. Values: the
    /// fields of `right_used`, in its order.
    state: HashMap<KeyBytes, UsedFields, FastHash>,
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
    type Item = OutputRow;

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
                            let row = &self.table.row;
                            let used = self.right_used.iter().map(|&i| row[i].clone());
                            self.state.insert(KeyBytes::from_slice(&k), used.collect());
                        }
                        (Some(k), false) => {
                            self.state.remove(&k[..]);
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
                    match found {
                        Some(values) => {
                            for (&i, v) in self.right_used.iter().zip(values) {
                                row[i] = v.clone();
                            }
                        }
                        None => self.right_used.iter().for_each(|&i| row[i] = Value::Null),
                    }
                    let first = out.len();
                    self.spec
                        .ops
                        .apply(row, event_time, partition, record.offset, out);
                    crate::exec::row_headers::stamp(&mut out[first..], &record.headers);
                }
            }
        }
        Ok(true)
    }

    fn inputs(&mut self) -> Vec<&mut Input> {
        vec![&mut self.stream, &mut self.table]
    }

    fn save(&self, w: &mut Writer) {
        let (base, width) = self.spec.right;
        let mut full = vec![Value::Null; width];
        w.u32(self.state.len());
        for (k, used) in &self.state {
            for (&i, v) in self.right_used.iter().zip(used) {
                full[i - base] = v.clone();
            }
            w.bytes(k);
            w.values(&full);
        }
    }

    fn load(&mut self, r: &mut Reader) -> Result<(), String> {
        let (base, width) = self.spec.right;
        let n = r.count()?;
        self.state = HashMap::with_capacity_and_hasher(n, FastHash::default());
        for _ in 0..n {
            let key = KeyBytes::from_vec(r.bytes()?);
            let full = r.values()?;
            if full.len() != width {
                return Err(format!(
                    "a table row of the join's state has {} fields, the table {width}",
                    full.len()
                ));
            }
            let used = self.right_used.iter().map(|&i| full[i - base].clone());
            self.state.insert(key, used.collect());
        }
        Ok(())
    }
}
