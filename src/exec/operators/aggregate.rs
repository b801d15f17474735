//! The stateful operator: GROUP BY with optional TUMBLING, HOPPING or SESSION windows.
//! One `AggregateTask` per input partition holds that partition's groups in plain hash maps
//! (no sharing between tasks, so no locks); `AggregateSpec` is the immutable part shared by
//! the tasks of a query.
//!
//! Time follows Kafka Streams: stream time is the largest event time the task has seen
//! (updated with each record before it is placed); a time window accepts a record while
//! `end + grace > stream time` and closes once `stream time >= end + grace`; a session
//! accepts while `end + grace >= stream time`. Late records are dropped and counted, one
//! count per window they miss.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::exec::log::LogRecord;

use crate::data::{SqlType, Value};
use crate::exec::decode::SourceDecoder;
use crate::exec::eval::{eval, is_true};
use crate::exec::format::DecodeError;
use crate::exec::task::{BadRecord, OutputRow};
use crate::plan::aggregate::{AggCall, AggFunc, Aggregate};
use crate::plan::expr::TypedExpr;
use crate::plan::logical::{LogicalPlan, Source};
use crate::plan::window::{WindowDef, WindowType};
use crate::syntax::ast::EmitKind;

use crate::diagnostic::{Code, Diagnostic};
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::limits::{state_rows_max, GROUPS_PER_TASK_MAX};

/// Group keys are trusted bytes of the task's own records: a fast multiplicative hash
/// (FxHash's) instead of SipHash, which is built to resist chosen keys.
pub type FastHash = std::hash::BuildHasherDefault<FxHasher>;

/// A group's or a table row's key bytes, held inline up to 24 bytes (a short string or a
/// number, with a window start): a lookup compares the key in the hash table's own slot
/// instead of following a pointer to a heap copy, a cache miss per record once the table
/// outgrows the cache. Longer keys go to the heap as before.
pub type KeyBytes = smallvec::SmallVec<[u8; 24]>;

#[derive(Default)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    /// A final mix (murmur3's fmix64): the multiply above leaves the low bits, which pick
    /// the bucket, depending only on the low bits of the input, so 8-byte big-endian keys
    /// (KAFKA-format BIGINT, INT) that differ in their last bytes fell into few buckets:
    /// 1M such keys took minutes to insert instead of half a second.
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

#[cfg(test)]
mod fast_hash_tests {
    use std::hash::BuildHasher;

    /// Keys that differ only in their last bytes (big-endian integers) spread over the
    /// buckets a hash table takes from the low bits.
    #[test]
    fn big_endian_integer_keys_spread_over_low_bits() {
        let build = super::FastHash::default();
        let mut buckets = std::collections::HashSet::new();
        for i in 0..4096i64 {
            let h = build.hash_one(i.to_be_bytes().to_vec());
            buckets.insert(h & 4095);
        }
        // Random hashes fill about 63% of 4096 buckets with 4096 keys.
        assert!(
            buckets.len() > 2000,
            "only {} of 4096 buckets used",
            buckets.len()
        );
    }
}

/// Decodes and filters the records of an aggregation's input (a source, maybe filtered,
/// or a repartition topic).
#[derive(Debug)]
pub struct InputScanner {
    pub topic: String,
    decoder: SourceDecoder,
    width: usize,
    filter: Option<TypedExpr>,
}

impl InputScanner {
    /// For `Filter?(Source)`.
    pub fn new(node: &LogicalPlan) -> Option<InputScanner> {
        let (filter, source) = match node {
            LogicalPlan::Filter(f) => match &*f.input {
                LogicalPlan::Source(s) => (Some(f.predicate.clone()), s),
                _ => return None,
            },
            LogicalPlan::Source(s) => (None, s),
            _ => return None,
        };
        Some(InputScanner {
            topic: source.topic.clone(),
            decoder: SourceDecoder::new(source, 0),
            width: source.schema.len(),
            filter,
        })
    }

    /// For a source read with an optional filter (a physical plan's `Filter?(Scan)`).
    pub fn of(source: &Source, filter: Option<&TypedExpr>) -> InputScanner {
        InputScanner {
            topic: source.topic.clone(),
            decoder: SourceDecoder::new(source, 0),
            width: source.schema.len(),
            filter: filter.cloned(),
        }
    }

    /// Converts only the columns at the row positions `read` accepts; the decoder checks
    /// the others (`SourceDecoder::reading_only`).
    pub fn reading_only(mut self, read: impl Fn(usize) -> bool) -> InputScanner {
        self.decoder = self.decoder.reading_only(read);
        self
    }

    /// Rows re-keyed into an internal topic: every column is in the JSON value.
    pub fn internal(source: &Source, topic: &str) -> InputScanner {
        let mut decoder = SourceDecoder::internal(source, 0);
        decoder.topic = topic.to_string();
        InputScanner {
            topic: topic.to_string(),
            decoder,
            width: source.schema.len(),
            filter: None,
        }
    }

    /// Decodes and filters a batch of one partition; `f` gets each row that passes, with
    /// its event time and record. Bad records are appended to `bad`; a batch the log
    /// cannot read is an error.
    pub fn scan<'a>(
        &self,
        partition: u32,
        records: impl IntoIterator<Item = Result<LogRecord<'a>, String>>,
        row: &mut Vec<Value>,
        bad: &mut Vec<BadRecord>,
        mut f: impl FnMut(&[Value], i64, &LogRecord),
    ) -> Result<(), String> {
        self.scan_changes(partition, records, row, bad, false, |r, row, t| {
            if let Some(row) = row {
                f(row, t, r)
            }
        })
    }

    /// Like `scan`, for a table read directly: `f` gets every record with a key, with its
    /// key bytes (the table row's identity) and what became of the row.
    pub fn scan_table<'a>(
        &self,
        partition: u32,
        records: impl IntoIterator<Item = Result<LogRecord<'a>, String>>,
        row: &mut Vec<Value>,
        bad: &mut Vec<BadRecord>,
        mut f: impl FnMut(&[u8], TableChange, i64, &LogRecord),
    ) -> Result<(), String> {
        self.scan_changes(partition, records, row, bad, true, |r, row, t| {
            let change = match row {
                Some(row) => TableChange::Upsert(row),
                None => TableChange::Delete,
            };
            f(r.key.expect("keyless records are skipped"), change, t, r)
        })
    }

    /// `f` gets each record's row when it passes WHERE; with `table`, also None for a
    /// tombstone or a row WHERE rejects (and records without a key are skipped).
    fn scan_changes<'a>(
        &self,
        partition: u32,
        records: impl IntoIterator<Item = Result<LogRecord<'a>, String>>,
        row: &mut Vec<Value>,
        bad: &mut Vec<BadRecord>,
        table: bool,
        mut f: impl FnMut(&LogRecord, Option<&[Value]>, i64),
    ) -> Result<(), String> {
        for r in records {
            let r = &r?;
            if table {
                if r.key.is_none() {
                    continue;
                }
                if r.value.is_none() {
                    f(r, None, r.timestamp_ms);
                    continue;
                }
            }
            // A successful decode sets every column the query reads; only a missing key
            // leaves key columns to reset.
            if row.len() != self.width || r.key.is_none() {
                row.clear();
                row.resize(self.width, Value::Null);
            }
            match self.decoder.decode(partition, r, row) {
                Ok(Some(t)) => {
                    if self.filter.as_ref().is_some_and(|p| !is_true(p, row)) {
                        if table {
                            f(r, None, t);
                        }
                        continue;
                    }
                    f(r, Some(row), t);
                }
                Ok(None) => {}
                Err(DecodeError(reason)) => bad.push(BadRecord {
                    topic: self.topic.clone(),
                    partition,
                    offset: r.offset,
                    reason,
                }),
            }
        }
        Ok(())
    }
}

/// A change of a table row, as `InputScanner::scan_table` reports it.
pub enum TableChange<'r> {
    /// The row's new values (it passed WHERE).
    Upsert(&'r [Value]),
    /// A tombstone, or a new value that WHERE rejects: the row no longer counts.
    Delete,
}

/// The header that marks a record of a repartition topic as a retraction: the row's
/// previous values, to take out of their group. Its value says what follows.
pub const RETRACT_HEADER: &str = "kql.retract";
/// The row moved to another group, or is gone: the group's new state is emitted.
pub const RETRACT_MOVED: &[u8] = b"moved";
/// The next record adds the row's new values to the same group: the group is emitted once,
/// after that addition.
pub const RETRACT_REPLACED: &[u8] = b"replaced";

/// Where an aggregation's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A stream, or a repartition topic fed by one: every row adds.
    Stream,
    /// A table read directly (GROUP BY its key): the task keeps each table row's
    /// previous values and retracts them when the row changes.
    Table,
    /// A repartition topic fed by a table: records with `RETRACT_HEADER` retract.
    Retractions,
}

/// Adds or takes out a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Add,
    /// With `emit`, the group's new state (or its deletion) is emitted.
    Retract {
        emit: bool,
    },
}

#[derive(Debug)]
pub struct AggregateSpec {
    pub input: InputScanner,
    keys: Vec<TypedExpr>,
    /// The input columns that are the keys, when every key is a column and the windows
    /// are not sessions: a record then finds its group without copying its key values
    /// (`GroupKey::Columns`).
    key_columns: Option<Vec<usize>>,
    calls: Vec<AggCall>,
    window: Option<WindowDef>,
    emit: EmitKind,
    having: Option<TypedExpr>,
    project: Vec<TypedExpr>,
    /// For each of `project`'s items, whether it is a column that no later item reads:
    /// its value is then moved out of the aggregate's row, not copied.
    project_moves: Vec<bool>,
    pub input_kind: InputKind,
}

impl AggregateSpec {
    /// `having` and `project` are bound against the aggregate's output row.
    pub fn new(
        agg: &Aggregate,
        input: InputScanner,
        having: Option<TypedExpr>,
        project: Vec<TypedExpr>,
    ) -> AggregateSpec {
        let session = agg
            .window
            .as_ref()
            .is_some_and(|w| matches!(w.kind, WindowType::Session { .. }));
        let key_columns = agg
            .keys
            .iter()
            .map(|k| match k.expr.kind {
                crate::plan::expr::TExpr::Column(i) => Some(i),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .filter(|_| !session);
        let project_moves = (0..project.len())
            .map(|n| match project[n].kind {
                crate::plan::expr::TExpr::Column(i) => project[n + 1..].iter().all(|later| {
                    let mut read = Vec::new();
                    later.columns(&mut read);
                    !read.contains(&i)
                }),
                _ => false,
            })
            .collect();
        AggregateSpec {
            input,
            project_moves,
            keys: agg.keys.iter().map(|k| k.expr.clone()).collect(),
            key_columns,
            calls: agg.calls.clone(),
            window: agg.window.clone(),
            emit: agg.emit,
            having,
            project,
            input_kind: if agg.table && !agg.repartition {
                InputKind::Table
            } else if agg.table {
                InputKind::Retractions
            } else {
                InputKind::Stream
            },
        }
    }
}

/// A group's or session's accumulators, inline in its slot of the hash table up to four:
/// updating a group touches the slot only, not a second allocation (a cache miss per
/// record when the groups outgrow the cache).
type Accs = smallvec::SmallVec<[Acc; 4]>;

/// One accumulator.
#[derive(Debug, Clone)]
enum Acc {
    Count(i64),
    Distinct(HashSet<Vec<u8>>),
    Sum(Value),
    Avg(f64, i64),
    Min(Value),
    Max(Value),
    /// (sequence, value): the latest or earliest by arrival.
    ByOffset(u64, Value),
    List(Vec<Value>),
    TopK(Vec<Value>),
    /// EARLIEST/LATEST_BY_OFFSET's n-value and NULL-keeping forms: (sequence, value),
    /// oldest first, at most n (1 for the single-value form).
    Offsets(Vec<(u64, Value)>),
    /// How many rows had each value (HISTOGRAM, ATTR), in order of first appearance.
    Counts(Vec<(Value, i64)>),
    /// Count, mean and sum of squared deviations (Welford's), for STDDEV_SAMP.
    Moments(i64, f64, f64),
    /// Count and the sums of x, y, x², y², xy, for CORRELATION.
    Sums(i64, [f64; 5]),
}

fn init(call: &AggCall) -> Acc {
    match call.func {
        AggFunc::CountStar | AggFunc::Count => Acc::Count(0),
        AggFunc::CountDistinct => Acc::Distinct(HashSet::new()),
        AggFunc::Sum | AggFunc::SumList => Acc::Sum(match call.ty {
            SqlType::Int => Value::Int(0),
            SqlType::Bigint => Value::Bigint(0),
            SqlType::Decimal { .. } => Value::Decimal(Default::default()),
            _ => Value::Double(0.0),
        }),
        AggFunc::Avg => Acc::Avg(0.0, 0),
        AggFunc::Min => Acc::Min(Value::Null),
        AggFunc::Max => Acc::Max(Value::Null),
        AggFunc::LatestByOffset | AggFunc::EarliestByOffset if call.k == 0 && call.ignore_nulls => {
            Acc::ByOffset(0, Value::Null)
        }
        AggFunc::LatestByOffset | AggFunc::EarliestByOffset => Acc::Offsets(Vec::new()),
        AggFunc::CollectList | AggFunc::CollectSet => Acc::List(Vec::new()),
        AggFunc::TopK | AggFunc::TopKDistinct => Acc::TopK(Vec::new()),
        AggFunc::Histogram | AggFunc::Attr => Acc::Counts(Vec::new()),
        AggFunc::StddevSamp | AggFunc::StddevSample => Acc::Moments(0, 0.0, 0.0),
        AggFunc::Correlation => Acc::Sums(0, [0.0; 5]),
    }
}

/// HISTOGRAM counts at most this many distinct strings (ksqlDB's limit); others are not
/// counted.
pub const HISTOGRAM_VALUES_MAX: usize = 1000;

/// The x and y of CORRELATION's argument, when neither is NULL.
fn pair(v: &Value) -> Option<(f64, f64)> {
    match v {
        Value::Array(xy) if xy.len() == 2 => Some((xy[0].as_f64()?, xy[1].as_f64()?)),
        _ => None,
    }
}

/// (`v` by reference: most calls only read it, and a copy per call and record was a
/// tenth of an aggregation's own work)
fn add(acc: &mut Acc, call: &AggCall, v: &Value, seq: u64) {
    match (acc, call.func) {
        (Acc::Count(n), AggFunc::CountStar) => *n += 1,
        (Acc::Count(n), _) => *n += !v.is_null() as i64,
        (Acc::Distinct(set), _) => {
            if !v.is_null() {
                let mut b = Vec::new();
                value_bytes(v, &mut b);
                set.insert(b);
            }
        }
        (Acc::Sum(s), AggFunc::SumList) => {
            if let Value::Array(items) = v {
                for x in items.iter().filter(|x| !x.is_null()) {
                    *s = sum(s, x);
                }
            }
        }
        (Acc::Sum(s), _) => {
            if !v.is_null() {
                *s = sum(s, v);
            }
        }
        (Acc::Avg(s, n), _) => {
            if let Some(x) = v.as_f64() {
                *s += x;
                *n += 1;
            }
        }
        (Acc::Min(m), _) => {
            if !v.is_null() && (m.is_null() || v.sql_cmp(m) == Some(std::cmp::Ordering::Less)) {
                *m = v.clone();
            }
        }
        (Acc::Max(m), _) => {
            if !v.is_null() && (m.is_null() || v.sql_cmp(m) == Some(std::cmp::Ordering::Greater)) {
                *m = v.clone();
            }
        }
        (Acc::ByOffset(s, x), AggFunc::LatestByOffset) => {
            // ksqlDB ignores NULLs by default
            if !v.is_null() && seq >= *s {
                *s = seq;
                *x = v.clone();
            }
        }
        (Acc::ByOffset(s, x), _) => {
            if !v.is_null() && (x.is_null() || seq < *s) {
                *s = seq;
                *x = v.clone();
            }
        }
        (Acc::List(items), f) => {
            if items.len() < call.k && (f == AggFunc::CollectList || !items.contains(v)) {
                items.push(v.clone());
            }
        }
        (Acc::Offsets(kept), f) => {
            if v.is_null() && call.ignore_nulls {
                return;
            }
            let n = call.k.max(1);
            if f == AggFunc::LatestByOffset {
                kept.push((seq, v.clone()));
                if kept.len() > n {
                    kept.remove(0);
                }
            } else if kept.len() < n {
                kept.push((seq, v.clone()));
            }
        }
        (Acc::Counts(counts), f) => {
            if f == AggFunc::Histogram && v.is_null() {
                return;
            }
            match counts.iter().position(|(x, _)| x == v) {
                Some(i) => counts[i].1 += 1,
                None if f == AggFunc::Histogram && counts.len() >= HISTOGRAM_VALUES_MAX => {}
                None => counts.push((v.clone(), 1)),
            }
        }
        (Acc::Moments(n, mean, m2), _) => {
            if let Some(x) = v.as_f64() {
                *n += 1;
                let d = x - *mean;
                *mean += d / *n as f64;
                *m2 += d * (x - *mean);
            }
        }
        (Acc::Sums(n, s), _) => {
            if let Some((x, y)) = pair(v) {
                *n += 1;
                for (acc, add) in s.iter_mut().zip([x, y, x * x, y * y, x * y]) {
                    *acc += add;
                }
            }
        }
        (Acc::TopK(items), f) => {
            let rank = topk_rank(v);
            if !rank.is_null() && !(f == AggFunc::TopKDistinct && items.contains(v)) {
                // after the values it equals: the earlier of two equal values ranks first
                let pos = items
                    .iter()
                    .position(|x| rank.sql_cmp(topk_rank(x)) == Some(std::cmp::Ordering::Greater))
                    .unwrap_or(items.len());
                if pos < call.k {
                    items.insert(pos, v.clone());
                    items.truncate(call.k);
                }
            }
        }
    }
}

/// Takes a row's value back out (only calls that `AggFunc::undoable` allows on a table).
/// What TOPK ranks a value by: the value, or the `sort_col` of TOPK(x, other..., k)'s
/// struct (the planner allows no struct as x itself).
fn topk_rank(v: &Value) -> &Value {
    match v {
        Value::Struct(fields) => fields.first().unwrap_or(v),
        _ => v,
    }
}

fn sub(acc: &mut Acc, call: &AggCall, v: Value) {
    match (acc, call.func) {
        (Acc::Count(n), AggFunc::CountStar) => *n -= 1,
        (Acc::Count(n), _) => *n -= !v.is_null() as i64,
        (Acc::Sum(s), AggFunc::SumList) => {
            if let Value::Array(items) = &v {
                for x in items.iter().filter(|x| !x.is_null()) {
                    *s = difference(s, x);
                }
            }
        }
        (Acc::Sum(s), _) if !v.is_null() => *s = difference(s, &v),
        (Acc::Avg(s, n), _) => {
            if let Some(x) = v.as_f64() {
                *n -= 1;
                // back to an exact 0 when the last value leaves, not a rounding residue
                *s = if *n == 0 { 0.0 } else { *s - x };
            }
        }
        (Acc::List(items), AggFunc::CollectList) => {
            if let Some(i) = items.iter().position(|x| *x == v) {
                items.remove(i);
            }
        }
        (Acc::Counts(counts), _) => {
            if let Some(i) = counts.iter().position(|(x, _)| *x == v) {
                counts[i].1 -= 1;
                if counts[i].1 <= 0 {
                    counts.remove(i);
                }
            }
        }
        (Acc::Moments(n, mean, m2), _) => {
            if let Some(x) = v.as_f64() {
                if *n <= 1 {
                    (*n, *mean, *m2) = (0, 0.0, 0.0);
                } else {
                    // Welford's step run backwards
                    let before = (*mean * *n as f64 - x) / (*n - 1) as f64;
                    *m2 -= (x - *mean) * (x - before);
                    *mean = before;
                    *n -= 1;
                }
            }
        }
        (Acc::Sums(n, s), _) => {
            if let Some((x, y)) = pair(&v) {
                *n -= 1;
                for (acc, sub) in s.iter_mut().zip([x, y, x * x, y * y, x * y]) {
                    *acc -= sub;
                }
                if *n == 0 {
                    *s = [0.0; 5];
                }
            }
        }
        _ => {}
    }
}

fn difference(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.wrapping_sub(*y)),
        (Value::Bigint(x), Value::Bigint(y)) => Value::Bigint(x.wrapping_sub(*y)),
        (Value::Decimal(x), Value::Decimal(y)) => {
            x.checked_sub(*y).map_or(Value::Null, Value::Decimal)
        }
        // a decimal sum past 38 digits stays NULL
        (Value::Null, Value::Decimal(_)) => Value::Null,
        (x, y) => Value::Double(x.as_f64().unwrap_or(0.0) - y.as_f64().unwrap_or(0.0)),
    }
}

/// Session merges: combine two accumulators of the same call.
fn merge(into: &mut Acc, from: Acc, call: &AggCall) {
    match (into, from) {
        (Acc::Count(a), Acc::Count(b)) => *a += b,
        (Acc::Distinct(a), Acc::Distinct(b)) => a.extend(b),
        (Acc::Sum(a), Acc::Sum(b)) => *a = sum(a, &b),
        (Acc::Avg(s, n), Acc::Avg(s2, n2)) => {
            *s += s2;
            *n += n2
        }
        (into @ (Acc::Min(_) | Acc::Max(_)), Acc::Min(b) | Acc::Max(b)) => add(into, call, &b, 0),
        (Acc::ByOffset(s, x), Acc::ByOffset(s2, x2)) => {
            let take = match call.func {
                AggFunc::LatestByOffset => !x2.is_null() && s2 >= *s,
                _ => !x2.is_null() && (x.is_null() || s2 < *s),
            };
            if take {
                *s = s2;
                *x = x2;
            }
        }
        (into @ Acc::List(_), Acc::List(b)) | (into @ Acc::TopK(_), Acc::TopK(b)) => {
            for v in b {
                add(into, call, &v, 0);
            }
        }
        (Acc::Offsets(a), Acc::Offsets(b)) => {
            a.extend(b);
            a.sort_by_key(|(seq, _)| *seq);
            let n = call.k.max(1);
            if a.len() > n {
                match call.func {
                    AggFunc::LatestByOffset => drop(a.drain(..a.len() - n)),
                    _ => a.truncate(n),
                }
            }
        }
        (into @ Acc::Counts(_), Acc::Counts(b)) => {
            for (v, n) in b {
                for _ in 0..n {
                    add(into, call, &v, 0);
                }
            }
        }
        (Acc::Moments(n, mean, m2), Acc::Moments(n2, mean2, m22)) => {
            if n2 > 0 {
                // Chan et al.'s combination of two partial results
                let total = *n + n2;
                let d = mean2 - *mean;
                *m2 += m22 + d * d * (*n as f64) * (n2 as f64) / total as f64;
                *mean += d * n2 as f64 / total as f64;
                *n = total;
            }
        }
        (Acc::Sums(n, s), Acc::Sums(n2, s2)) => {
            *n += n2;
            for (a, b) in s.iter_mut().zip(s2) {
                *a += b;
            }
        }
        _ => {}
    }
}

fn result(acc: &Acc, call: &AggCall) -> Value {
    match acc {
        Acc::Offsets(kept) if call.k == 0 => kept.first().map_or(Value::Null, |(_, v)| v.clone()),
        Acc::Offsets(kept) => Value::Array(Arc::new(kept.iter().map(|(_, v)| v.clone()).collect())),
        Acc::Counts(counts) if call.func == AggFunc::Attr => match counts.as_slice() {
            [(v, _)] => v.clone(),
            _ => Value::Null,
        },
        Acc::Counts(counts) => Value::Map(Arc::new(
            counts
                .iter()
                .map(|(v, n)| (v.clone(), Value::Bigint(*n)))
                .collect(),
        )),
        // ksqlDB's STDDEV_SAMP gives the sample variance, STDDEV_SAMPLE its square
        // root; both 0 below two values
        Acc::Moments(n, _, m2) if *n >= 2 => {
            let variance = m2 / (*n - 1) as f64;
            Value::Double(match call.func {
                AggFunc::StddevSample => variance.sqrt(),
                _ => variance,
            })
        }
        Acc::Moments(..) => Value::Double(0.0),
        Acc::Sums(n, [sx, sy, sxx, syy, sxy]) => {
            let n = *n as f64;
            let cov = n * sxy - sx * sy;
            Value::Double(cov / ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt())
        }
        Acc::Count(n) => Value::Bigint(*n),
        Acc::Distinct(s) => Value::Bigint(s.len() as i64),
        Acc::Sum(v) | Acc::Min(v) | Acc::Max(v) | Acc::ByOffset(_, v) => v.clone(),
        Acc::Avg(_, 0) => Value::Null,
        Acc::Avg(s, n) => Value::Double(s / *n as f64),
        Acc::List(items) | Acc::TopK(items) => Value::Array(Arc::new(items.clone())),
    }
}

fn sum(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.wrapping_add(*y)),
        (Value::Bigint(x), Value::Bigint(y)) => Value::Bigint(x.wrapping_add(*y)),
        (Value::Decimal(x), Value::Decimal(y)) => {
            x.checked_add(*y).map_or(Value::Null, Value::Decimal)
        }
        // a decimal sum past 38 digits is NULL (ksqlDB fails it) and stays NULL
        (Value::Null, Value::Decimal(_)) => Value::Null,
        (x, y) => Value::Double(x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0)),
    }
}

/// A record's group key: values evaluated from the row, or columns of the row, copied
/// only when the record makes a new group.
#[derive(Clone, Copy)]
enum GroupKey<'a> {
    Values(&'a [Value]),
    Columns(&'a [usize], &'a [Value]),
}

impl GroupKey<'_> {
    fn any_null(&self) -> bool {
        match self {
            GroupKey::Values(v) => v.iter().any(Value::is_null),
            GroupKey::Columns(columns, row) => columns.iter().any(|&i| row[i].is_null()),
        }
    }

    fn to_vec(self) -> Vec<Value> {
        match self {
            GroupKey::Values(v) => v.to_vec(),
            GroupKey::Columns(columns, row) => columns.iter().map(|&i| row[i].clone()).collect(),
        }
    }
}

/// Bytes that identify a value (for hashing group keys and distinct values).
pub fn value_bytes(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0),
        Value::String(s) => {
            out.push(1);
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Bigint(i) | Value::Timestamp(i) => {
            out.push(3);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Double(d) => {
            out.push(4);
            out.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        Value::Boolean(b) => out.extend_from_slice(&[5, *b as u8]),
        other => {
            let s = other.to_string();
            out.push(6);
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

#[derive(Debug, Clone)]
struct Group {
    key: Vec<Value>,
    start: i64,
    end: i64,
    accs: Accs,
    /// Event time of the last update (the output record's timestamp).
    time_ms: i64,
    /// Where the last update came from (to order output).
    offset: u64,
    /// Rows in the group (a table's group is deleted when its last row leaves).
    rows: i64,
}

#[derive(Debug, Clone)]
struct Session {
    start: i64,
    end: i64,
    accs: Accs,
    time_ms: i64,
    offset: u64,
}

/// The state of one task: its partition's groups.
#[derive(Debug, Default)]
pub struct AggregateTask {
    pub stream_time_ms: i64,
    pub late_records: u64,
    /// Groups by key bytes (+ window start for time windows).
    groups: HashMap<KeyBytes, Group, FastHash>,
    /// Time windows by (end, group id), to close them in order.
    closing: BTreeMap<i64, Vec<KeyBytes>>,
    sessions: HashMap<Vec<u8>, (Vec<Value>, Vec<Session>), FastHash>,
    /// Every session of `sessions` as (end, group id, start): the order they close and
    /// are emitted in, so closing takes the first entries instead of scanning every key.
    session_ends: BTreeSet<(i64, Vec<u8>, i64)>,
    /// A table input's rows that count, by record key: the values to retract when the row
    /// changes. Kept by the task that reads the table (this one when it groups by the
    /// table's key, else the repartition stage's).
    pub(crate) table: HashMap<Vec<u8>, Vec<Value>, FastHash>,
    seq: u64,
    key_buf: Vec<u8>,
    key_vals: Vec<Value>,
    args: Vec<Value>,
    row: Vec<Value>,
    /// The most groups this task may hold; None: `limits::GROUPS_PER_TASK_MAX` (or lower,
    /// `limits::state_rows_max`).
    pub(crate) groups_max: Option<usize>,
    /// Set when a record would have opened a group past `groups_max` (the batch then
    /// fails: one check per batch, none per record).
    full: bool,
    /// A table row replaced within its group is retracted then added, and written once:
    /// whether the group passed HAVING before the retraction, for that write.
    visible_before_retract: Option<bool>,
}

impl AggregateTask {
    pub fn new() -> AggregateTask {
        AggregateTask {
            stream_time_ms: i64::MIN,
            ..Default::default()
        }
    }

    /// Processes a batch of records of one partition.
    pub fn process<'a>(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        records: impl IntoIterator<Item = Result<LogRecord<'a>, String>>,
        bad: &mut Vec<BadRecord>,
        out: &mut Vec<OutputRow>,
    ) -> ExecResult<()> {
        let mut row = std::mem::take(&mut self.row);
        let result = match spec.input_kind {
            InputKind::Stream => spec
                .input
                .scan(partition, records, &mut row, bad, |row, t, r| {
                    let first = out.len();
                    self.add_row(spec, partition, row, t, r.offset, Sign::Add, out);
                    carry_headers(r, &mut out[first..]);
                }),
            InputKind::Retractions => {
                spec.input
                    .scan(partition, records, &mut row, bad, |row, t, r| {
                        let sign = match r.headers().find(|(n, _)| *n == RETRACT_HEADER.as_bytes())
                        {
                            Some((_, v)) => Sign::Retract {
                                emit: v != Some(RETRACT_REPLACED),
                            },
                            None => Sign::Add,
                        };
                        let first = out.len();
                        self.add_row(spec, partition, row, t, r.offset, sign, out);
                        carry_headers(r, &mut out[first..]);
                    })
            }
            InputKind::Table => {
                spec.input
                    .scan_table(partition, records, &mut row, bad, |key, change, t, r| {
                        // Grouped by the table's key: the old and the new values are in
                        // the same group, which is emitted once.
                        let new = match change {
                            TableChange::Upsert(row) => Some(row),
                            TableChange::Delete => None,
                        };
                        let first = out.len();
                        if let Some(old) = self.table.remove(key) {
                            let emit = new.is_none();
                            self.add_row(
                                spec,
                                partition,
                                &old,
                                t,
                                r.offset,
                                Sign::Retract { emit },
                                out,
                            );
                        }
                        if let Some(row) = new {
                            self.add_row(spec, partition, row, t, r.offset, Sign::Add, out);
                            self.table.insert(key.to_vec(), row.to_vec());
                        }
                        carry_headers(r, &mut out[first..]);
                    })
            }
        };
        self.row = row;
        if std::mem::take(&mut self.full) {
            return Err(self.state_full(partition));
        }
        Ok(result?)
    }

    /// Room for one more group? If not, the task is marked full.
    fn room_for_group(&mut self) -> bool {
        if self.groups.len() + self.sessions.len() < self.groups_max() {
            return true;
        }
        self.full = true;
        false
    }

    fn groups_max(&self) -> usize {
        self.groups_max
            .unwrap_or_else(|| state_rows_max(GROUPS_PER_TASK_MAX))
    }

    fn state_full(&self, partition: u32) -> ExecError {
        let d = Diagnostic::new(
            Code::StateLimit,
            format!(
                "the aggregation of partition {partition} holds {} groups, the most one \
                 task keeps, and a record would open one more",
                self.groups.len() + self.sessions.len()
            ),
        )
        .help(
            "fewer distinct keys, shorter windows or grace periods, or more partitions \
             keep the state smaller",
        );
        ExecError::Diagnosed(d)
    }

    #[allow(clippy::too_many_arguments)]
    fn add_row(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        row: &[Value],
        t: i64,
        offset: u64,
        sign: Sign,
        out: &mut Vec<OutputRow>,
    ) {
        self.seq += 1;
        self.stream_time_ms = self.stream_time_ms.max(t);
        // Reused buffers: no allocation per record unless a group is new.
        let mut key = std::mem::take(&mut self.key_vals);
        let mut args = std::mem::take(&mut self.args);
        key.clear();
        self.key_buf.clear();
        let group_key = match &spec.key_columns {
            Some(columns) => {
                for &i in columns {
                    value_bytes(&row[i], &mut self.key_buf);
                }
                GroupKey::Columns(columns, row)
            }
            None => {
                key.extend(spec.keys.iter().map(|k| eval(k, row)));
                for k in &key {
                    value_bytes(k, &mut self.key_buf);
                }
                GroupKey::Values(&key)
            }
        };
        if group_key.any_null() {
            // ksqlDB drops rows whose grouping key is NULL
            self.key_vals = key;
            self.args = args;
            return;
        }
        args.clear();
        args.extend(
            spec.calls
                .iter()
                .map(|c| match c.arg.as_ref().map(|a| &a.kind) {
                    None => Value::Null,
                    // (most arguments are columns: copied without a call to evaluate them)
                    Some(crate::plan::expr::TExpr::Column(i)) => row[*i].clone(),
                    Some(_) => eval(c.arg.as_ref().expect("an argument"), row),
                }),
        );
        if let Sign::Retract { emit } = sign {
            // tables are never windowed
            self.retract(spec, partition, &args, emit, t, offset, out);
            self.key_vals = key;
            self.args = args;
            return;
        }
        match spec.window.as_ref().map(|w| (w.kind, w.grace_ms)) {
            None => self.update(
                spec,
                partition,
                group_key,
                i64::MIN,
                i64::MIN,
                &args,
                t,
                offset,
                out,
            ),
            Some((WindowType::Tumbling { size_ms }, grace)) => {
                let start = t - t.rem_euclid(size_ms);
                self.update_window(
                    spec, partition, group_key, start, size_ms, grace, &args, t, offset, out,
                );
            }
            Some((
                WindowType::Hopping {
                    size_ms,
                    advance_ms,
                },
                grace,
            )) => {
                // Saturating: an event time near the ends of i64 has windows, not overflows.
                let first = t.saturating_sub(size_ms).saturating_add(advance_ms).max(0);
                let mut start = first / advance_ms * advance_ms;
                while start <= t {
                    // A window whose end is held at the largest time holds records up to it.
                    let end = start.saturating_add(size_ms);
                    if end > t || end == i64::MAX {
                        self.update_window(
                            spec, partition, group_key, start, size_ms, grace, &args, t, offset,
                            out,
                        );
                    }
                    let Some(next) = start.checked_add(advance_ms) else {
                        break;
                    };
                    start = next;
                }
            }
            Some((WindowType::Session { gap_ms }, grace)) => {
                // (sessions' keys are always evaluated into `key`: `key_columns` leaves
                // them out)
                self.update_session(spec, partition, &key, gap_ms, grace, &args, t, offset, out)
            }
        }
        self.key_vals = key;
        self.args = args;
        if spec.emit == EmitKind::Final {
            self.close(spec, partition, offset, false, out);
        } else if spec.window.is_some() {
            // closed windows can no longer change: forget them
            self.purge(spec);
        }
    }

    /// Takes a table row's previous values out of their group (keyed by `key_buf`); a
    /// group left without rows is deleted (a tombstone when `emit`).
    #[allow(clippy::too_many_arguments)]
    fn retract(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        args: &[Value],
        emit_update: bool,
        t: i64,
        offset: u64,
        out: &mut Vec<OutputRow>,
    ) {
        let Some(group) = self.groups.get_mut(self.key_buf.as_slice()) else {
            return;
        };
        let was_visible = passes_having(spec, group);
        for ((acc, call), v) in group.accs.iter_mut().zip(&spec.calls).zip(args) {
            sub(acc, call, v.clone());
        }
        group.rows -= 1;
        group.time_ms = group.time_ms.max(t);
        group.offset = offset;
        if !emit_update {
            self.visible_before_retract = Some(was_visible);
            return;
        }
        // A group whose last row left is written with its aggregates back at their start
        // (COUNT 0), as ksqlDB does, and forgotten: a row that comes back starts it again
        // from the same values.
        if spec.emit == EmitKind::Changes {
            emit(
                spec,
                group.key.iter().cloned(),
                None,
                &group.accs,
                t,
                partition,
                offset,
                was_visible,
                out,
            );
        }
        if group.rows <= 0 {
            self.groups.remove(self.key_buf.as_slice());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_window(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        key: GroupKey,
        start: i64,
        size_ms: i64,
        grace_ms: i64,
        args: &[Value],
        t: i64,
        offset: u64,
        out: &mut Vec<OutputRow>,
    ) {
        // A window ending past the largest time ends at it (it closes at the end of input).
        let end = start.saturating_add(size_ms);
        if closed(end, grace_ms, self.stream_time_ms) {
            self.late_records += 1;
            return;
        }
        self.update(spec, partition, key, start, end, args, t, offset, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        key: GroupKey,
        start: i64,
        end: i64,
        args: &[Value],
        t: i64,
        offset: u64,
        out: &mut Vec<OutputRow>,
    ) {
        let klen = self.key_buf.len();
        if spec.window.is_some() {
            self.key_buf.extend_from_slice(&start.to_be_bytes());
        }
        let seq = self.seq;
        // One hash lookup for a known group; an insert then a lookup for a new one.
        let retracted = self.visible_before_retract.take();
        if let Some(group) = self.groups.get_mut(self.key_buf.as_slice()) {
            let was_visible = retracted.unwrap_or_else(|| passes_having(spec, group));
            apply(
                spec,
                group,
                args,
                seq,
                t,
                partition,
                offset,
                was_visible,
                out,
            );
        } else if self.room_for_group() {
            let id = KeyBytes::from_slice(&self.key_buf);
            if spec.window.is_some() {
                self.closing.entry(end).or_default().push(id.clone());
            }
            let group = self.groups.entry(id).or_insert_with(|| Group {
                key: key.to_vec(),
                start,
                end,
                accs: spec.calls.iter().map(init).collect(),
                time_ms: t,
                offset,
                rows: 0,
            });
            apply(spec, group, args, seq, t, partition, offset, false, out);
        }
        self.key_buf.truncate(klen);
    }

    #[allow(clippy::too_many_arguments)]
    fn update_session(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        key: &[Value],
        gap_ms: i64,
        grace_ms: i64,
        args: &[Value],
        t: i64,
        offset: u64,
        out: &mut Vec<OutputRow>,
    ) {
        let stream_time = self.stream_time_ms;
        // (the lookup only when the state is at its bound: not per record)
        if self.groups.len() + self.sessions.len() >= self.groups_max()
            && !self.sessions.contains_key(self.key_buf.as_slice())
        {
            self.full = true;
            return;
        }
        let id = &self.key_buf;
        let (_, sessions) = self
            .sessions
            .entry(id.clone())
            .or_insert_with(|| (key.to_vec(), Vec::new()));
        let mut merged = Session {
            start: t,
            end: t,
            accs: spec.calls.iter().map(init).collect(),
            time_ms: t,
            offset,
        };
        let mut old = Vec::new();
        let mut i = 0;
        while i < sessions.len() {
            let s = &sessions[i];
            if s.end >= t.saturating_sub(gap_ms) && s.start <= t.saturating_add(gap_ms) {
                self.session_ends.remove(&(s.end, id.clone(), s.start));
                old.push(sessions.remove(i));
            } else {
                i += 1;
            }
        }
        for s in &old {
            merged.start = merged.start.min(s.start);
            merged.end = merged.end.max(s.end);
            merged.time_ms = merged.time_ms.max(s.time_ms);
        }
        // A session is closed once no record can extend it: stream time is past its end
        // plus the gap plus grace (Kafka Streams' rule).
        if merged.end.saturating_add(gap_ms).saturating_add(grace_ms) < stream_time {
            self.late_records += 1;
            for s in &old {
                self.session_ends.insert((s.end, id.clone(), s.start));
            }
            sessions.extend(old);
            sessions.sort_by_key(|s| s.start);
            return;
        }
        for s in old.iter_mut() {
            for ((into, from), call) in merged
                .accs
                .iter_mut()
                .zip(std::mem::take(&mut s.accs))
                .zip(&spec.calls)
            {
                merge(into, from, call);
            }
        }
        for (acc, (call, v)) in merged.accs.iter_mut().zip(spec.calls.iter().zip(args)) {
            add(acc, call, v, self.seq);
        }
        if spec.emit == EmitKind::Changes {
            // As Kafka Streams does: a merged-away session's deletion carries that
            // session's time, the merged session the latest time of all its rows.
            for s in &old {
                emit_tombstone(
                    spec,
                    key,
                    Some((s.start, s.end)),
                    s.time_ms,
                    partition,
                    offset,
                    out,
                );
            }
            emit(
                spec,
                key.iter().cloned(),
                Some((merged.start, merged.end)),
                &merged.accs,
                merged.time_ms,
                partition,
                offset,
                true,
                out,
            );
        }
        self.session_ends
            .insert((merged.end, id.clone(), merged.start));
        let pos = sessions.partition_point(|s| s.start < merged.start);
        sessions.insert(pos, merged);
    }

    /// Removes closed time windows and sessions (EMIT CHANGES: they were already emitted).
    fn purge(&mut self, spec: &AggregateSpec) {
        let mut sink = Vec::new();
        self.close_inner(spec, 0, 0, false, false, &mut sink);
    }

    /// Emits and removes the windows that have closed (all of them when `all`).
    pub fn close(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        offset: u64,
        all: bool,
        out: &mut Vec<OutputRow>,
    ) {
        let emit_final = spec.emit == EmitKind::Final;
        self.close_inner(spec, partition, offset, all, emit_final, out);
    }

    fn close_inner(
        &mut self,
        spec: &AggregateSpec,
        partition: u32,
        offset: u64,
        all: bool,
        emit_rows: bool,
        out: &mut Vec<OutputRow>,
    ) {
        let Some(w) = &spec.window else { return };
        let grace = w.grace_ms;
        let now = self.stream_time_ms;
        // A window that stream time left behind by more than its retention is dropped
        // unemitted (ksqlDB's store no longer holds it); the end of input keeps them all.
        let oldest_kept = match w.oldest_kept_start(now) {
            Some(start) if !all => start,
            _ => i64::MIN,
        };
        while let Some((end, _)) = self.closing.first_key_value() {
            if !all && !closed(*end, grace, now) {
                break;
            }
            let (_, ids) = self.closing.pop_first().expect("just seen");
            // windows closing together are emitted in key order: deterministic output
            for id in in_key_order(&ids) {
                let Some(g) = self.groups.remove(id) else {
                    continue;
                };
                {
                    if emit_rows && g.start >= oldest_kept {
                        // (the group is gone: its key moves into the row)
                        emit(
                            spec,
                            g.key,
                            Some((g.start, g.end)),
                            &g.accs,
                            g.time_ms,
                            partition,
                            offset.max(g.offset),
                            true,
                            out,
                        );
                    }
                }
            }
        }
        // Sessions close in order of end, then key, then start: the index's order; a
        // session closes once stream time is past its end plus the gap plus grace.
        let session_wait = match w.kind {
            WindowType::Session { gap_ms } => gap_ms.saturating_add(grace),
            _ => grace,
        };
        while let Some((end, _, _)) = self.session_ends.first() {
            if !all && end.saturating_add(session_wait) >= now {
                break;
            }
            let (_, id, start) = self.session_ends.pop_first().expect("just seen");
            let Some((key, list)) = self.sessions.get_mut(&id) else {
                continue;
            };
            let Some(i) = list.iter().position(|s| s.start == start) else {
                continue;
            };
            let s = list.remove(i);
            if emit_rows {
                emit(
                    spec,
                    key.iter().cloned(),
                    Some((s.start, s.end)),
                    &s.accs,
                    s.time_ms,
                    partition,
                    offset.max(s.offset),
                    true,
                    out,
                );
            }
            if list.is_empty() {
                self.sessions.remove(&id);
            }
        }
    }

    /// How many groups (windows, sessions) the task holds.
    pub fn size(&self) -> usize {
        self.groups.len() + self.sessions.values().map(|(_, l)| l.len()).sum::<usize>()
    }
}

/// Adds a row's arguments to a group and emits the update (EMIT CHANGES).
#[allow(clippy::too_many_arguments)]
fn apply(
    spec: &AggregateSpec,
    group: &mut Group,
    args: &[Value],
    seq: u64,
    t: i64,
    partition: u32,
    offset: u64,
    was_visible: bool,
    out: &mut Vec<OutputRow>,
) {
    for ((acc, call), v) in group.accs.iter_mut().zip(&spec.calls).zip(args) {
        add(acc, call, v, seq);
    }
    group.rows += 1;
    group.time_ms = group.time_ms.max(t);
    group.offset = offset;
    if spec.emit == EmitKind::Changes {
        let window = spec.window.as_ref().map(|_| (group.start, group.end));
        emit(
            spec,
            group.key.iter().cloned(),
            window,
            &group.accs,
            t,
            partition,
            offset,
            was_visible,
            out,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn emit(
    spec: &AggregateSpec,
    key: impl IntoIterator<Item = Value>,
    window: Option<(i64, i64)>,
    accs: &[Acc],
    t: i64,
    partition: u32,
    offset: u64,
    was_visible: bool,
    out: &mut Vec<OutputRow>,
) {
    let mut row = output_row(
        key,
        window,
        accs.iter().zip(&spec.calls).map(|(a, c)| result(a, c)),
    );
    let tombstone = spec.having.as_ref().is_some_and(|h| !is_true(h, &row));
    // A group HAVING rejects is deleted from the table only if it was in it: its
    // previous state passed HAVING (Kafka Streams' filter on a table).
    if tombstone && (spec.emit == EmitKind::Final || !was_visible) {
        return;
    }
    out.push(OutputRow {
        event_time_ms: t,
        partition,
        offset,
        values: (spec.project.iter().zip(&spec.project_moves))
            .map(|(e, &moves)| match e.kind {
                crate::plan::expr::TExpr::Column(i) if moves => std::mem::take(&mut row[i]),
                _ => eval(e, &row),
            })
            .collect(),
        window,
        tombstone,
        headers: None,
    });
}

/// Does the group's current state pass HAVING (true without HAVING)? Only a group that
/// has rows is in the table.
fn passes_having(spec: &AggregateSpec, group: &Group) -> bool {
    let Some(h) = &spec.having else {
        return true;
    };
    if group.rows <= 0 || spec.emit == EmitKind::Final {
        return group.rows > 0;
    }
    let window = spec.window.as_ref().map(|_| (group.start, group.end));
    let row = output_row(
        group.key.iter().cloned(),
        window,
        group
            .accs
            .iter()
            .zip(&spec.calls)
            .map(|(a, c)| result(a, c)),
    );
    is_true(h, &row)
}

/// Gives the rows one input record caused that record's headers (the aggregate's row
/// carries the headers of the record that last changed it, as in ksqlDB).
fn carry_headers(r: &LogRecord, rows: &mut [OutputRow]) {
    if rows.is_empty() {
        return;
    }
    if let Some(h) = crate::exec::row_headers::of_record(r) {
        for row in rows {
            row.headers = Some(h.clone());
        }
    }
}

/// Group ids in byte order. They are sorted by their first eight bytes, read as one
/// number (a shorter id padded with zeros, which keeps the order), and only ids with the
/// same first eight bytes are compared whole: sorting thousands of ids at each window's
/// end then moves and compares numbers, not byte strings.
fn in_key_order(ids: &[KeyBytes]) -> impl Iterator<Item = &KeyBytes> {
    let prefix = |id: &[u8]| {
        let mut b = [0u8; 8];
        let n = id.len().min(8);
        b[..n].copy_from_slice(&id[..n]);
        u64::from_be_bytes(b)
    };
    let mut order: Vec<(u64, u32)> = (ids.iter().enumerate())
        .map(|(i, id)| (prefix(id), i as u32))
        .collect();
    order.sort_unstable_by(|a, b| {
        (a.0.cmp(&b.0)).then_with(|| ids[a.1 as usize].cmp(&ids[b.1 as usize]))
    });
    order.into_iter().map(move |(_, i)| &ids[i as usize])
}

#[cfg(test)]
mod key_order_tests {
    use super::{in_key_order, KeyBytes};

    #[test]
    fn ids_come_in_byte_order_whatever_their_lengths() {
        // ids around the eight bytes: zeros, prefixes of each other, equal prefixes
        let mut ids: Vec<KeyBytes> = Vec::new();
        let bytes = [0u8, 1, 0x7f, 0x80, 0xff];
        let mut seed = 7u64;
        for len in 0..20 {
            for _ in 0..40 {
                let id: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        bytes[(seed >> 33) as usize % bytes.len()]
                    })
                    .collect();
                ids.push(KeyBytes::from_slice(&id));
            }
        }
        let mut expected = ids.clone();
        expected.sort();
        let got: Vec<KeyBytes> = in_key_order(&ids).cloned().collect();
        assert_eq!(got, expected);
    }
}

/// The aggregate's row before projection: keys, the window's bounds, then the results.
fn output_row(
    key: impl IntoIterator<Item = Value>,
    window: Option<(i64, i64)>,
    results: impl Iterator<Item = Value>,
) -> smallvec::SmallVec<[Value; 8]> {
    // (on the stack for the usual few columns: no allocation, nor growth, per row)
    let mut row = smallvec::SmallVec::new();
    row.extend(key);
    if let Some((start, end)) = window {
        row.push(Value::Bigint(start));
        row.push(Value::Bigint(end));
    }
    row.extend(results);
    row
}

/// A deletion (a session merged away, a table group whose last row left): its key, no
/// value.
fn emit_tombstone(
    spec: &AggregateSpec,
    key: &[Value],
    window: Option<(i64, i64)>,
    t: i64,
    partition: u32,
    offset: u64,
    out: &mut Vec<OutputRow>,
) {
    let row = output_row(
        key.iter().cloned(),
        window,
        spec.calls.iter().map(|_| Value::Null),
    );
    out.push(OutputRow {
        event_time_ms: t,
        partition,
        offset,
        values: spec.project.iter().map(|e| eval(e, &row)).collect(),
        window,
        tombstone: true,
        headers: None,
    });
}

/// Has stream time `now` closed a window ending at `end` with `grace`? A window whose end
/// (with its grace) reaches the largest timestamp holds records up to it, so no stream time
/// closes it: it closes at the end of input.
fn closed(end: i64, grace: i64, now: i64) -> bool {
    let closes_at = end.saturating_add(grace);
    closes_at != i64::MAX && closes_at <= now
}

#[cfg(test)]
mod bounds_tests;
/// The task's state as bytes, for its changelog.
mod snapshot;
mod task;
pub(crate) use task::AggregatingTask;
