//! Joins to a GLOBAL TABLE: before any task starts, the table is read from the earliest
//! offset of every partition into one read-only store shared by all tasks; each stream
//! record looks up any expression of its columns. The stream keeps its own partitioning.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use kql_runtime::Cluster;

use super::input::Input;
use super::{fill_used, part, relative, used_fields};
use crate::data::{SqlType, Value};
use crate::diagnostic::Diagnostic;
use crate::exec::aggregate::FastHash;
use crate::exec::decode::SourceDecoder;
use crate::exec::format::key::encode_key_into;
use crate::exec::physical::{ranges, StartAt};
use crate::exec::pipeline::Operators;
use crate::exec::task::{OutputRow, PartitionReader, Task, TaskStats, FETCH_BATCH_RECORDS};
use crate::plan::catalog::Format;
use crate::plan::expr::TypedExpr;
use crate::plan::logical::Source;
use crate::syntax::ast::JoinType;

/// The table's rows by key, read-only once built: tasks look rows up without a lock (a
/// lock shared by every task costs a contended atomic per lookup). Keys are the table's
/// own record keys: hashed with the aggregation's fast hash.
pub type GlobalStore = Arc<HashMap<Bytes, Vec<Value>, FastHash>>;

/// Reads every partition of the table from the beginning into a shared store.
pub fn bootstrap(
    cluster: &Cluster,
    table: &Source,
    base: usize,
    used: &[usize],
) -> Result<GlobalStore, Diagnostic> {
    let mut store = HashMap::with_hasher(FastHash::default());
    let width = base + table.schema.len();
    let decoder = SourceDecoder::new(table, base, &relative(used, base, table.schema.len()));
    for range in ranges(cluster, &table.topic, StartAt::Earliest)? {
        let mut input = Input::new(
            PartitionReader::new(cluster.clone(), table.topic.clone(), range),
            decoder.clone(),
            width,
        );
        while input
            .peek()
            .map_err(|e| Diagnostic::new(crate::diagnostic::Code::TopicError, e))?
            .is_some()
        {
            let (_, record) = input.take().expect("peeked");
            let Some(k) = record.key else { continue };
            if !record.tombstone {
                store.insert(k, part(&input.row, (base, table.schema.len())));
            } else {
                store.remove(&k);
            }
        }
    }
    Ok(Arc::new(store))
}

pub struct GlobalJoinTask {
    stream: Input,
    store: GlobalStore,
    lookup: TypedExpr,
    join_type: JoinType,
    ops: Operators,
    key_format: Format,
    right: (usize, usize),
    /// The lookup's key type, and a buffer for the key bytes of each record.
    key_type: SqlType,
    key: Vec<u8>,
    /// Row positions of the table's columns that the operators read.
    right_used: Vec<usize>,
}

impl GlobalJoinTask {
    /// `right`: where the table's fields sit in the row (start, length).
    pub fn new(
        stream: Input,
        store: GlobalStore,
        lookup: TypedExpr,
        join_type: JoinType,
        ops: Operators,
        key_format: Format,
        right: (usize, usize),
    ) -> GlobalJoinTask {
        let key_type = if lookup.ty == SqlType::Null {
            SqlType::String
        } else {
            lookup.ty.clone()
        };
        let right_used = used_fields(&ops, right);
        GlobalJoinTask {
            right_used,
            stream,
            store,
            lookup,
            join_type,
            ops,
            key_format,
            right,
            key_type,
            key: Vec::new(),
        }
    }
}

impl Task for GlobalJoinTask {
    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> Result<bool, String> {
        for _ in 0..FETCH_BATCH_RECORDS {
            if self.stream.peek()?.is_none() {
                return Ok(false);
            }
            let (event_time, record) = self.stream.take().expect("peeked");
            if record.tombstone {
                continue;
            }
            let partition = self.stream.partition();
            let row = &mut self.stream.row;
            let v = crate::exec::eval::eval(&self.lookup, row);
            self.key.clear();
            let found =
                encode_key_into(self.key_format, &[("", &self.key_type, &v)], &mut self.key)
                    .then(|| self.store.get(&self.key[..]))
                    .flatten();
            if found.is_none() && self.join_type == JoinType::Inner {
                continue;
            }
            // Only the table's columns the query reads: each copy of a shared value is a
            // reference count both tasks touch.
            fill_used(
                row,
                self.right.0,
                &self.right_used,
                found.map(Vec::as_slice),
            );
            self.ops
                .apply(row, event_time, partition, record.offset, out);
        }
        Ok(true)
    }

    fn stats(&mut self) -> TaskStats {
        std::mem::take(&mut self.stream.stats)
    }
}
