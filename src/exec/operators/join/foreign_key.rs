//! Foreign-key table-table join task: `left JOIN right ON f(left) = right.key`. The two
//! tables need not be co-partitioned (f(left) is not the left table's key), so one task
//! reads every partition of both, taking the record with the smallest event time first
//! (the right side on a tie). It keeps both tables, and the left rows indexed by the
//! right key they refer to. Output rows are keyed by the left table's key, as in ksqlDB
//! (Kafka Streams' foreign-key join):
//!
//! - a left row emits its joined row (a LEFT join: with NULLs when the right row is
//!   missing); an INNER join's left row without a match deletes its key if it was in the
//!   result before (a new left key without a match emits nothing); a deleted left row
//!   deletes its key;
//! - a right update emits the joined row of every left row that refers to it, in left key
//!   order; a deleted right row deletes them (INNER) or emits them with NULLs (LEFT).
//!
//! Each row has the time of the record that caused it.

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;

use super::input::Input;
use super::{fill, owned_key, part, side_offset, JoinSpec};
use crate::data::Value;
use crate::exec::error::ExecResult;
use crate::exec::state::codec::{Reader, Writer};
use crate::exec::task::{OutputRow, Task, FETCH_BATCH_RECORDS};
use crate::syntax::ast::JoinType;

/// A left table row: its fields, and the right key it refers to (None: NULL, no match).
struct LeftRow {
    fields: Vec<Value>,
    refers_to: Option<Bytes>,
}

pub struct ForeignKeyTask {
    lefts: Vec<Input>,
    rights: Vec<Input>,
    spec: JoinSpec,
    left_state: HashMap<Bytes, LeftRow>,
    right_state: HashMap<Bytes, Vec<Value>>,
    /// Left keys by the right key their rows refer to, in key order.
    referrers: HashMap<Bytes, BTreeSet<Bytes>>,
    row: Vec<Value>,
    key: Vec<u8>,
}

/// Where a row comes from: the input record that caused it.
#[derive(Clone, Copy)]
struct Cause {
    time: i64,
    partition: u32,
    offset: u64,
}

impl ForeignKeyTask {
    pub fn new(lefts: Vec<Input>, rights: Vec<Input>, spec: JoinSpec) -> ForeignKeyTask {
        let width = lefts.first().or(rights.first()).map_or(0, |i| i.row.len());
        ForeignKeyTask {
            lefts,
            rights,
            spec,
            left_state: HashMap::new(),
            right_state: HashMap::new(),
            referrers: HashMap::new(),
            row: vec![Value::Null; width],
            key: Vec::new(),
        }
    }

    /// The input holding the next record: (from the left, its index); None at the end.
    fn next_input(&mut self) -> Result<Option<(bool, usize)>, String> {
        let mut best: Option<(i64, bool, usize)> = None;
        // Right inputs first, so that they win ties.
        for (from_left, inputs) in [(false, &mut self.rights), (true, &mut self.lefts)] {
            for (i, input) in inputs.iter_mut().enumerate() {
                if let Some(t) = input.peek()? {
                    if best.is_none_or(|(b, _, _)| t < b) {
                        best = Some((t, from_left, i));
                    }
                }
            }
        }
        Ok(best.map(|(_, from_left, i)| (from_left, i)))
    }

    /// Emits the row of one left key: joined with `right` (or NULLs), or its deletion.
    fn emit(
        &mut self,
        left_key: &Bytes,
        right: Option<&[Value]>,
        cause: Cause,
        from_left: bool,
        out: &mut Vec<OutputRow>,
    ) {
        let Some(left) = self.left_state.get(left_key) else {
            return;
        };
        if right.is_none() && self.spec.join_type != JoinType::Left {
            let fields = left.fields.clone();
            return self.tombstone(&fields, cause, from_left, out);
        }
        fill(&mut self.row, self.spec.left, Some(&left.fields));
        fill(&mut self.row, self.spec.right, right);
        let offset = side_offset(from_left, cause.offset);
        self.spec
            .ops
            .apply(&self.row, cause.time, cause.partition, offset, out);
    }

    /// Ok unless a new row would take the tables past the task's bound.
    fn check_bound(&self, from_left: bool, key: &[u8]) -> ExecResult<()> {
        self.spec.bound.check(
            self.left_state.len() + self.right_state.len(),
            || match from_left {
                true => !self.left_state.contains_key(key),
                false => !self.right_state.contains_key(key),
            },
            || "the foreign-key join".to_string(),
            "rows of its tables",
        )
    }

    fn left_record(&mut self, i: usize, out: &mut Vec<OutputRow>) -> ExecResult<()> {
        let input = &mut self.lefts[i];
        let (time, record) = input.take().expect("peeked");
        let Some(key) = record.key else {
            return Ok(()); // a table row without a key cannot be updated or deleted
        };
        if !record.tombstone {
            self.check_bound(true, &key)?;
        }
        let input = &mut self.lefts[i];
        let cause = Cause {
            time,
            partition: input.partition(),
            offset: record.offset,
        };
        let new = (!record.tombstone).then(|| {
            let refers_to = self
                .spec
                .key_into(&self.spec.left_key, &input.row, &mut self.key)
                .then(|| owned_key(&self.key));
            LeftRow {
                fields: part(&input.row, self.spec.left),
                refers_to,
            }
        });
        let key = owned_key(&key);
        let old = self.left_state.remove(&key);
        if let Some(old_ref) = old.as_ref().and_then(|o| o.refers_to.as_ref()) {
            if let Some(set) = self.referrers.get_mut(old_ref) {
                set.remove(&key);
                if set.is_empty() {
                    self.referrers.remove(old_ref);
                }
            }
        }
        let Some(new) = new else {
            // A deletion: the key leaves the result, if it was in the table.
            if let Some(old) = old {
                self.tombstone(&old.fields, cause, true, out);
            }
            return Ok(());
        };
        if let Some(r) = &new.refers_to {
            self.referrers
                .entry(r.clone())
                .or_default()
                .insert(key.clone());
        }
        let matched = new
            .refers_to
            .as_ref()
            .and_then(|r| self.right_state.get(r))
            .cloned();
        self.left_state.insert(key.clone(), new);
        // An INNER join's new key without a match is not in the result: nothing to say.
        if matched.is_none() && self.spec.join_type == JoinType::Inner && old.is_none() {
            return Ok(());
        }
        self.emit(&key, matched.as_deref(), cause, true, out);
        Ok(())
    }

    /// The deletion of the key of the left row `left` from the result.
    fn tombstone(
        &mut self,
        left: &[Value],
        cause: Cause,
        from_left: bool,
        out: &mut Vec<OutputRow>,
    ) {
        fill(&mut self.row, self.spec.left, Some(left));
        fill(&mut self.row, self.spec.right, None);
        let offset = side_offset(from_left, cause.offset);
        self.spec
            .ops
            .apply_tombstone(&self.row, cause.time, cause.partition, offset, out);
    }

    fn right_record(&mut self, i: usize, out: &mut Vec<OutputRow>) -> ExecResult<()> {
        let input = &mut self.rights[i];
        let (time, record) = input.take().expect("peeked");
        let Some(key) = record.key else {
            return Ok(()); // a table row without a key cannot be looked up
        };
        if !record.tombstone {
            self.check_bound(false, &key)?;
        }
        let input = &mut self.rights[i];
        let cause = Cause {
            time,
            partition: input.partition(),
            offset: record.offset,
        };
        let key = owned_key(&key);
        let fields = (!record.tombstone).then(|| part(&input.row, self.spec.right));
        let existed = match &fields {
            Some(f) => self.right_state.insert(key.clone(), f.clone()).is_some(),
            None => self.right_state.remove(&key).is_some(),
        };
        if fields.is_none() && !existed {
            return Ok(());
        }
        let referrers: Vec<Bytes> = self
            .referrers
            .get(&key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for left_key in referrers {
            self.emit(&left_key, fields.as_deref(), cause, false, out);
        }
        Ok(())
    }
}

impl Task for ForeignKeyTask {
    type Item = OutputRow;

    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> ExecResult<bool> {
        for _ in 0..FETCH_BATCH_RECORDS {
            match self.next_input()? {
                None => return Ok(false),
                // (the rows a record causes carry its headers)
                Some((true, i)) => {
                    let (first, headers) = (out.len(), self.lefts[i].head_headers());
                    self.left_record(i, out)?;
                    crate::exec::row_headers::stamp(&mut out[first..], &headers);
                }
                Some((false, i)) => {
                    let (first, headers) = (out.len(), self.rights[i].head_headers());
                    self.right_record(i, out)?;
                    crate::exec::row_headers::stamp(&mut out[first..], &headers);
                }
            }
        }
        Ok(true)
    }

    fn inputs(&mut self) -> Vec<&mut Input> {
        self.lefts
            .iter_mut()
            .chain(self.rights.iter_mut())
            .collect()
    }

    fn save(&self, w: &mut Writer) {
        w.u32(self.left_state.len());
        for (k, row) in &self.left_state {
            w.bytes(k);
            w.values(&row.fields);
            match &row.refers_to {
                Some(r) => {
                    w.u8(1);
                    w.bytes(r);
                }
                None => w.u8(0),
            }
        }
        super::live::save_rows(w, &self.right_state);
    }

    fn load(&mut self, r: &mut Reader) -> Result<(), String> {
        self.left_state.clear();
        self.referrers.clear();
        for _ in 0..r.count()? {
            let key = Bytes::from(r.bytes()?);
            let fields = r.values()?;
            let refers_to = match r.u8()? {
                0 => None,
                _ => Some(Bytes::from(r.bytes()?)),
            };
            if let Some(to) = &refers_to {
                self.referrers
                    .entry(to.clone())
                    .or_default()
                    .insert(key.clone());
            }
            self.left_state.insert(key, LeftRow { fields, refers_to });
        }
        self.right_state = super::live::load_rows(r)?;
        Ok(())
    }
}
