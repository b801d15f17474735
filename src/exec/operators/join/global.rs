//! Joins to a GLOBAL TABLE: before any task starts, the table is read from the earliest
//! offset of every partition into one store shared by all tasks; each stream record looks
//! up any expression of its columns. The stream keeps its own partitioning. A persistent
//! query applies the table's new records before each catch-up of its tasks.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::exec::log::LogHandle;

use super::bound::RowBound;
use super::input::Input;
use super::{fill_used, lookup_key_into, part, used_fields};
use crate::data::{SqlType, Value};
use crate::diagnostic::Diagnostic;
use crate::exec::decode::SourceDecoder;
use crate::exec::error::ExecResult;
use crate::exec::operators::aggregate::{FastHash, KeyBytes};
use crate::exec::operators::pipeline::Operators;
use crate::exec::physical::{ranges, StartAt};
use crate::exec::sinks::row::{JoinedTable, PickedRow};
use crate::exec::state::codec::{Reader, Writer};
use crate::exec::task::{
    EachRecord, OutputRow, PartitionReader, Task, TaskStats, FETCH_BATCH_RECORDS,
};
use crate::plan::catalog::Format;
use crate::plan::expr::TypedExpr;
use crate::plan::logical::Source;
use crate::syntax::ast::JoinType;

/// The table's rows by key, shared by every task and kept current by the feed. Keys are
/// the table's own record keys: hashed with the aggregation's fast hash. A task holds the
/// read lock for a batch of lookups, the feed the write lock while it applies the table's
/// new records (between catch-ups, when no task runs): the lock's atomic is paid once per
/// batch, not once per lookup on a line every task writes, as a sharded map's read lock
/// was (about 12% of W4's CPU).
#[derive(Clone, Default)]
pub struct GlobalStore(Arc<RwLock<Table>>);

#[derive(Default)]
pub struct Table {
    rows: HashMap<KeyBytes, Vec<Value>, FastHash>,
    /// Counts the refreshes that changed the rows: a task's copies of rows are good while
    /// it is the same.
    generation: u64,
}

impl GlobalStore {
    fn read(&self) -> RwLockReadGuard<'_, Table> {
        // (a task that panicked holding the lock only read: the map is whole)
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The global table's store and where its reader is in each partition of the table's
/// topic: created empty, filled from the earliest offsets by the first `refresh`, and kept
/// current by the next ones (a persistent query refreshes at each catch-up).
pub struct GlobalFeed {
    inputs: Vec<Input>,
    fields: (usize, usize),
    pub store: GlobalStore,
    /// The table's name (for the message at the bound) and the most rows it holds.
    name: String,
    bound: RowBound,
}

impl GlobalFeed {
    pub fn new(log: &LogHandle, table: &Source, base: usize) -> Result<GlobalFeed, Diagnostic> {
        let width = base + table.schema.len();
        let decoder = SourceDecoder::new(table, base);
        let inputs = ranges(log, &table.topic, StartAt::Earliest)?
            .into_iter()
            .map(|range| {
                Input::new(
                    PartitionReader::new(log.clone(), table.topic.clone(), range),
                    decoder.clone(),
                    width,
                )
            })
            .collect();
        Ok(GlobalFeed {
            inputs,
            fields: (base, table.schema.len()),
            store: GlobalStore::default(),
            name: table.name.clone(),
            bound: RowBound::default(),
        })
    }

    /// Applies the table's records appended since the last refresh.
    pub fn refresh(&mut self, log: &LogHandle) -> ExecResult<TaskStats> {
        let mut stats = TaskStats::default();
        let mut table = self.store.write();
        let store = &mut table.rows;
        let mut held = store.len();
        for input in &mut self.inputs {
            input.resume(log)?;
            while input.peek()?.is_some() {
                let (_, record) = input.take().expect("peeked");
                let Some(k) = record.key else { continue };
                if !record.tombstone {
                    self.bound.check(
                        held,
                        || !store.contains_key(&k[..]),
                        || format!("the global table {}", self.name),
                        "rows",
                    )?;
                    let old = store.insert(KeyBytes::from_slice(&k), part(&input.row, self.fields));
                    held += old.is_none() as usize;
                } else if store.remove(&k[..]).is_some() {
                    held -= 1;
                }
            }
            stats.merge(std::mem::take(&mut input.stats));
        }
        if stats.records_read > 0 {
            table.generation += 1;
        }
        Ok(stats)
    }
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
    /// This task's copies of the used columns of the rows it looked up, sharing no
    /// reference count with the store's: both tasks copying a row's strings out of the
    /// store counted references on the same cache lines, moving them between the cores
    /// for every record. Dropped when the store's generation changes.
    copies: HashMap<KeyBytes, Vec<Value>, FastHash>,
    copies_generation: u64,
    /// The rows of one record, handed on as soon as they are made (`next_batch_each`).
    rows: Vec<OutputRow>,
    /// The row positions of the SELECT's columns, when it names nothing else: its rows
    /// are then handed on as picked rows (`sinks/row.rs`), not made.
    picks: Option<Vec<usize>>,
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
        let key_type = super::key_type(&lookup);
        let right_used = used_fields(&ops, right);
        GlobalJoinTask {
            picks: ops.picks(),
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
            copies: HashMap::default(),
            copies_generation: 0,
            rows: Vec::new(),
        }
    }
}

/// The columns at `used` (row positions from `base`) of a table row, copied so that they
/// share no reference count with the row; the others Null.
fn unshared_used(row: &[Value], base: usize, used: &[usize]) -> Vec<Value> {
    let mut copy = vec![Value::Null; row.len()];
    for &i in used {
        copy[i - base] = row[i - base].unshared();
    }
    copy
}

impl Task for GlobalJoinTask {
    type Item = OutputRow;

    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> ExecResult<bool> {
        self.join_batch(out, None)
    }

    fn next_batch_each(&mut self, each: &mut dyn EachRecord<OutputRow>) -> ExecResult<bool> {
        let mut rows = std::mem::take(&mut self.rows);
        let more = self.join_batch(&mut rows, Some(each));
        rows.clear();
        self.rows = rows;
        more
    }

    fn inputs(&mut self) -> Vec<&mut Input> {
        vec![&mut self.stream]
    }

    // The state is the global table's store, read again from the table's topic.
    fn save(&self, _: &mut Writer) {}

    fn load(&mut self, _: &mut Reader) -> Result<(), String> {
        Ok(())
    }
}

impl GlobalJoinTask {
    /// Joins a batch of the stream's records into `out`, or hands each record's rows to
    /// `each` as soon as they are made: as picked rows when the SELECT only names columns.
    fn join_batch(
        &mut self,
        out: &mut Vec<OutputRow>,
        mut each: Option<&mut dyn EachRecord<OutputRow>>,
    ) -> ExecResult<bool> {
        let store = self.store.read();
        if store.generation != self.copies_generation {
            self.copies.clear();
            self.copies_generation = store.generation;
        }
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
            let encoded = lookup_key_into(
                self.key_format,
                &self.key_type,
                &self.lookup,
                row,
                &mut self.key,
            );
            // (only rows are copied: a key without a row is looked up in the store each
            // time, so the copies are never more than the table's rows; one lookup of the
            // copies per record, through the entry)
            let found = match encoded.then(|| self.copies.entry(KeyBytes::from_slice(&self.key))) {
                None => None,
                Some(Entry::Occupied(e)) => Some(e.into_mut().as_slice()),
                Some(Entry::Vacant(e)) => store.rows.get(&self.key[..]).map(|r| {
                    e.insert(unshared_used(r, self.right.0, &self.right_used))
                        .as_slice()
                }),
            };
            if found.is_none() && self.join_type == JoinType::Inner {
                continue;
            }
            if let (Some(cols), Some(each)) = (&self.picks, each.as_deref_mut()) {
                // Without WHERE the table's columns are read in the table's row.
                let table = match &self.ops.filter {
                    None => Some(JoinedTable {
                        start: self.right.0,
                        len: self.right.1,
                        row: found,
                    }),
                    Some(_) => {
                        fill_used(row, self.right.0, &self.right_used, found);
                        if !self.ops.passes(row) {
                            continue;
                        }
                        None
                    }
                };
                each.picked(&PickedRow {
                    event_time_ms: event_time,
                    partition,
                    offset: record.offset,
                    headers: &record.headers,
                    cols,
                    row,
                    table,
                })?;
                continue;
            }
            // Only the table's columns the query reads.
            fill_used(row, self.right.0, &self.right_used, found);
            let first = out.len();
            self.ops
                .apply(row, event_time, partition, record.offset, out);
            crate::exec::row_headers::stamp(&mut out[first..], &record.headers);
            if let Some(each) = each.as_deref_mut().filter(|_| out.len() > first) {
                each.items(out)?;
                out.clear();
            }
        }
        Ok(true)
    }
}
