//! Joins at run time. Co-partitioned joins run one task per partition that reads partition
//! i of both sides in timestamp order (`input.rs`); a side not keyed by its join expression
//! is first copied, re-keyed, into an internal topic (`repartition.rs`). A GLOBAL TABLE is
//! read in full before the query starts into one store shared by every task (`global.rs`).

mod bound;
mod foreign_key;
mod global;
pub mod live;
mod materialize;
mod repartition;
mod stream_stream;
mod stream_table;
mod table_table;

use crate::exec::task::RowTask;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::exec::log::LogHandle;
use bytes::Bytes;

use super::pipeline::Operators;
use crate::data::{SqlType, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::decode::SourceDecoder;
use crate::exec::format::key::{encode_key, encode_key_into};
use crate::exec::physical::{
    self, ranges, Edge, EdgeKind, NodeId, Operator, PhysicalPlan, StartAt,
};
use crate::exec::task::{PartitionRange, PartitionReader};
use crate::plan::catalog::Format;
use crate::plan::expr::TypedExpr;
use crate::plan::logical::{Join, JoinKind, Source};
use crate::plan::QueryPlan;

/// (the join tasks read their inputs through it)
use crate::exec::input;
pub use crate::exec::input::Input;
use live::Feeder;
pub use live::LiveJoin;
pub(crate) use materialize::{row_columns, row_source, InnerWriter};

/// Tasks of a join query, and the internal topics made for it (removed when it ends).
pub struct JoinTasks {
    pub tasks: Vec<RowTask>,
    pub internal_topics: Vec<String>,
}

static TRANSIENT_QUERIES: AtomicU64 = AtomicU64::new(1);

/// How a join names its internal topics, and whether what it writes there is tagged for
/// exactly-once restarts (a persistent query on a durable log).
pub struct Naming {
    prefix: String,
    durable: bool,
    /// A foreign-key join runs one task per left partition, each reading the whole
    /// right table, so that processes sharing the query share its tasks (`exec/share.rs`);
    /// otherwise one task reads every partition of both tables.
    split_foreign_keys: bool,
}

impl Naming {
    /// A transient query's: numbered, removed when the query ends.
    pub fn transient(log: &LogHandle) -> Naming {
        Naming {
            prefix: crate::exec::naming::transient_prefix(
                log.application_id(),
                TRANSIENT_QUERIES.fetch_add(1, Ordering::Relaxed),
            ),
            durable: false,
            split_foreign_keys: false,
        }
    }

    /// A persistent query's, named after its id as ksqlDB names internal topics.
    pub fn persistent(log: &LogHandle, query_id: &str, durable: bool) -> Naming {
        Naming {
            prefix: crate::exec::naming::query_prefix(log.application_id(), query_id),
            durable,
            split_foreign_keys: false,
        }
    }

    /// The same, with each foreign-key join split into one task per left partition.
    pub fn splitting_foreign_keys(self, split: bool) -> Naming {
        Naming {
            split_foreign_keys: split,
            ..self
        }
    }

    fn topic(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }
}

/// Creates an internal topic, or keeps it when it exists (a restarted query's).
fn create_internal_topic(log: &LogHandle, topic: &str, partitions: u32) -> Result<(), Diagnostic> {
    if log.partition_count(topic).is_some() {
        return Ok(());
    }
    let config = crate::exec::log::TopicConfig {
        partitions,
        ..crate::exec::log::TopicConfig::default()
    };
    log.create_topic(topic, config).map_err(|e| {
        Diagnostic::new(
            Code::TopicError,
            format!("cannot create the internal topic '{topic}': {e}"),
        )
    })
}

/// One side of a join: the topic its task reads (the source's, or the internal topic it
/// was repartitioned into), how to decode it, and where its fields sit in the joined row.
struct SideInput {
    source: Source,
    topic: String,
    decoder: SourceDecoder,
    base: usize,
    /// An internal topic made for this query: read from its beginning, whatever the
    /// query's start (its records are exactly the query's input).
    internal: bool,
}

impl SideInput {
    fn len(&self) -> usize {
        self.source.schema.len()
    }

    fn input(&self, log: &LogHandle, range: PartitionRange, width: usize) -> Input {
        Input::new(
            PartitionReader::new(log.clone(), self.topic.clone(), range),
            self.decoder.clone(),
            width,
        )
    }

    fn start(&self, start: StartAt) -> StartAt {
        if self.internal {
            StartAt::Earliest
        } else {
            start
        }
    }
}

/// The tasks of a transient join query (its physical plan), its feeders run.
pub fn tasks(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    plan: &PhysicalPlan,
    start: StartAt,
) -> Result<JoinTasks, Diagnostic> {
    let join = build_physical(log, plan, start, &Naming::transient(log))?;
    let internal = join.internal_topics.clone();
    match join.into_tasks(runtime, log) {
        Ok((tasks, internal_topics)) => Ok(JoinTasks {
            tasks,
            internal_topics,
        }),
        Err(e) => {
            for t in internal {
                let _ = log.delete_topic(&t);
            }
            Err(Diagnostic::from(e))
        }
    }
}

/// Builds a join query's tasks and feeders (which have not run yet) from its physical plan.
pub fn build(
    log: &LogHandle,
    plan: &QueryPlan,
    start: StartAt,
    naming: &Naming,
) -> Result<LiveJoin, Diagnostic> {
    build_physical(
        log,
        &physical::lower(plan, physical::Output::Rows)?,
        start,
        naming,
    )
}

fn build_physical(
    log: &LogHandle,
    plan: &PhysicalPlan,
    start: StartAt,
    naming: &Naming,
) -> Result<LiveJoin, Diagnostic> {
    let (ops, node) = Operators::of_physical(plan, plan.root);
    build_node(log, plan, node, ops, start, naming)
}

/// The join at `node` of a physical plan, its rows filtered and projected by `ops`.
fn build_node(
    log: &LogHandle,
    plan: &PhysicalPlan,
    node: NodeId,
    ops: Operators,
    start: StartAt,
    naming: &Naming,
) -> Result<LiveJoin, Diagnostic> {
    let mut join = LiveJoin {
        feeders: Vec::new(),
        global: None,
        tasks: Vec::new(),
        internal_topics: Vec::new(),
        start,
        owned: None,
        round_records_max: None,
        broadcast: Vec::new(),
        split_foreign_keys: naming.split_foreign_keys,
    };
    let n = plan.node(node);
    match n.operator {
        Operator::GlobalJoin(g) => {
            let Operator::Scan(right) = plan.input(n.inputs[1]).operator else {
                return Err(multi_way());
            };
            let left = side(log, plan, n.inputs[0], 0, start, naming, &mut join)?;
            let width = left.len() + right.schema.len();
            let feed = global::GlobalFeed::new(log, right, left.len())?;
            // The stream's rows are read by the lookup and the operators only, and kept
            // by nothing: other value columns are checked, not converted.
            let mut read = ops.columns();
            g.lookup.columns(&mut read);
            for range in ranges(log, &left.topic, left.start(start))? {
                let input = left
                    .input(log, range, width)
                    .reading_only(|pos| read.contains(&pos))
                    .without_keys();
                join.tasks.push(Box::new(global::GlobalJoinTask::new(
                    input,
                    feed.store.clone(),
                    g.lookup.clone(),
                    g.join_type,
                    ops.clone(),
                    right.key_format,
                    (left.len(), right.schema.len()),
                )));
            }
            join.global = Some(feed);
            Ok(join)
        }
        Operator::Join(j) => {
            let left = side(log, plan, n.inputs[0], 0, start, naming, &mut join)?;
            // Tables are read from the beginning: their state is every row so far.
            let right_start = if j.kind == JoinKind::StreamStream {
                start
            } else {
                StartAt::Earliest
            };
            let right = side(
                log,
                plan,
                n.inputs[1],
                left.len(),
                right_start,
                naming,
                &mut join,
            )?;
            let width = left.len() + right.len();
            let left_ranges = ranges(log, &left.topic, left.start(start))?;
            let right_ranges = ranges(log, &right.topic, right.start(right_start))?;
            if j.kind == JoinKind::ForeignKey {
                // Not co-partitioned: one task reads every partition of both tables, or
                // (split) task i reads partition i of the left table and the whole right
                // table, so every row of a left key is still written by one task.
                let spec = JoinSpec::new(j, &left, &right, ops.clone());
                let all_rights = || {
                    right_ranges
                        .iter()
                        .map(|r| right.input(log, *r, width))
                        .collect::<Vec<_>>()
                };
                if naming.split_foreign_keys {
                    join.broadcast.push(right.topic.clone());
                    for l in &left_ranges {
                        join.tasks.push(Box::new(foreign_key::ForeignKeyTask::new(
                            vec![left.input(log, *l, width)],
                            all_rights(),
                            spec.clone(),
                        )));
                    }
                } else {
                    let lefts = left_ranges.iter().map(|r| left.input(log, *r, width));
                    join.tasks.push(Box::new(foreign_key::ForeignKeyTask::new(
                        lefts.collect(),
                        all_rights(),
                        spec,
                    )));
                }
                return Ok(join);
            }
            // A stream-table join keeps none of the stream's rows: they are read by its key
            // and the operators only.
            let mut stream_read = ops.columns();
            j.left_key.columns(&mut stream_read);
            for (l, r) in left_ranges.into_iter().zip(right_ranges) {
                let (l, r) = (left.input(log, l, width), right.input(log, r, width));
                let spec = JoinSpec::new(j, &left, &right, ops.clone());
                join.tasks.push(match j.kind {
                    JoinKind::StreamTable => {
                        let l = l
                            .reading_only(|pos| stream_read.contains(&pos))
                            .without_keys();
                        Box::new(stream_table::StreamTableTask::new(l, r, spec))
                    }
                    JoinKind::TableTable => Box::new(table_table::TableTableTask::new(l, r, spec)),
                    JoinKind::StreamStream => {
                        Box::new(stream_stream::StreamStreamTask::new(l, r, spec))
                    }
                    JoinKind::StreamGlobalTable | JoinKind::ForeignKey => {
                        return Err(Diagnostic::internal(
                            "a global or foreign-key join planned as a co-partitioned join",
                        ))
                    }
                });
            }
            Ok(join)
        }
        _ => Err(Diagnostic::internal(
            "join tasks asked for a plan without a join",
        )),
    }
}

fn multi_way() -> Diagnostic {
    Diagnostic::new(Code::Unsupported, "a query with more than one join compiles (see EXPLAIN) but does not run in this version of kql yet")
        .help("join two sources per query: CREATE STREAM AS SELECT the first join, then join its result")
}

/// Rows made by a record of a join's right side carry its offset with this bit set, so a
/// row's (partition, offset) names one input record even when both sides emit rows (the
/// sink's exactly-once tags need that). Offsets never come near 2^63; the rows' order is
/// unchanged, as rows of one partition come from one task, which keeps its own order.
const RIGHT_SIDE: u64 = 1 << 63;

pub(super) fn side_offset(from_left: bool, offset: u64) -> u64 {
    if from_left {
        offset
    } else {
        offset | RIGHT_SIDE
    }
}

/// One input of a join, as its physical plan's edge says: a scanned source, or an internal
/// topic that a feeder writes (a source re-keyed, or an inner join's rows), which the side
/// then reads.
fn side(
    log: &LogHandle,
    plan: &PhysicalPlan,
    edge: Edge,
    base: usize,
    start: StartAt,
    naming: &Naming,
    join: &mut LiveJoin,
) -> Result<SideInput, Diagnostic> {
    let node = plan.input(edge);
    match (&node.operator, edge.kind) {
        (Operator::Scan(s), EdgeKind::Forward) => Ok(SideInput {
            source: (*s).clone(),
            topic: s.topic.clone(),
            decoder: SourceDecoder::new(s, base),
            base,
            internal: false,
        }),
        (Operator::Repartition(r), EdgeKind::Exchange) => {
            let topic = naming.topic(&r.topic);
            let below = node.inputs[0].from;
            match plan.node(below).operator {
                Operator::Scan(s) => {
                    let feed = repartition::RepartitionFeed::new(
                        log,
                        r,
                        s,
                        base,
                        &topic,
                        start,
                        naming.durable,
                    )?;
                    join.internal_topics.push(topic.clone());
                    join.feeders.push(Feeder::Repartition(Box::new(feed)));
                    Ok(SideInput {
                        source: s.clone(),
                        topic,
                        decoder: SourceDecoder::internal(s, base),
                        base,
                        internal: true,
                    })
                }
                Operator::Join(_) | Operator::GlobalJoin(_) => {
                    // A join of joins: the inner join's rows go through the topic.
                    let (inner, writer, source) =
                        materialize::build(log, plan, below, r, &topic, start, naming)?;
                    Ok(inner_side(inner, writer, source, topic, base, join))
                }
                _ => Err(multi_way()),
            }
        }
        _ => Err(multi_way()),
    }
}
/// The side that reads an inner join's rows from the internal topic they are written to.
fn inner_side(
    inner: LiveJoin,
    writer: materialize::InnerWriter,
    source: Source,
    topic: String,
    base: usize,
    join: &mut LiveJoin,
) -> SideInput {
    join.internal_topics
        .extend(inner.internal_topics.iter().cloned());
    join.internal_topics.push(topic.clone());
    join.feeders.push(Feeder::Inner {
        join: Box::new(inner),
        writer: std::sync::Arc::new(writer),
    });
    SideInput {
        decoder: SourceDecoder::internal(&source, base),
        source,
        topic,
        base,
        internal: true,
    }
}

/// What every co-partitioned join task needs to know.
#[derive(Clone)]
pub(super) struct JoinSpec {
    pub join_type: crate::syntax::ast::JoinType,
    pub left_key: TypedExpr,
    pub right_key: TypedExpr,
    pub key_format: Format,
    pub key_type: SqlType,
    pub left: (usize, usize),
    pub right: (usize, usize),
    pub within: Option<(i64, i64, Option<i64>)>,
    pub ops: Operators,
    /// The most rows the task holds.
    pub bound: bound::RowBound,
    /// Row positions of WINDOWSTART and WINDOWEND of each side (left, right) when both
    /// are windowed streams: rows match only when their windows are equal too, as the
    /// windowed keys are.
    pub windows: Option<[(usize, usize); 2]>,
}

impl JoinSpec {
    fn new(j: &Join, left: &SideInput, right: &SideInput, ops: Operators) -> JoinSpec {
        JoinSpec {
            join_type: j.join_type,
            left_key: j.left_key.clone(),
            right_key: j.right_key.clone(),
            key_format: match (right.source.key_format, left.source.key_format) {
                // A table's rows are kept under their record's key bytes, so lookups
                // encode the key as its topic does; a stream side without a key (NONE)
                // is matched in the other side's format.
                (Format::None, Format::None) => Format::Kafka,
                (Format::None, left) => left,
                (right, _) => right,
            },
            key_type: j.right_key.ty.clone(),
            left: (left.base, left.len()),
            right: (right.base, right.len()),
            within: j.within,
            ops,
            bound: bound::RowBound::default(),
            windows: window_slots(left)
                .zip(window_slots(right))
                .map(|(l, r)| [l, r]),
        }
    }

    /// A row's key with the window of its side (when the sides are windowed).
    pub fn windowed_key(&self, key: Bytes, from_left: bool, row: &[Value]) -> Bytes {
        let Some(windows) = self.windows else {
            return key;
        };
        let (s, e) = windows[usize::from(!from_left)];
        let mut out = key.to_vec();
        for bound in [&row[s], &row[e]] {
            if let Value::Bigint(ms) = bound {
                out.extend_from_slice(&ms.to_be_bytes());
            }
        }
        Bytes::from(out)
    }

    /// The key of a row as bytes in the join's key format (None for a NULL key, which
    /// never matches).
    pub fn key_bytes(&self, key: &TypedExpr, row: &[Value]) -> Option<Bytes> {
        let v = crate::exec::eval::eval(key, row);
        key_bytes(self.key_format, &self.key_type, &v)
    }

    /// `key_bytes` into a reused buffer (no allocation); false for a NULL key.
    pub fn key_into(&self, key: &TypedExpr, row: &[Value], out: &mut Vec<u8>) -> bool {
        lookup_key_into(self.key_format, &self.key_type, key, row, out)
    }
}

/// The key bytes of `key` in `row`, as a record of `format` holds them, into a reused
/// buffer (no allocation); false for a NULL key. A column is read where it is: a copy
/// would count a reference to its string, and release it, per record.
#[inline]
pub(super) fn lookup_key_into(
    format: Format,
    key_type: &SqlType,
    key: &TypedExpr,
    row: &[Value],
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    crate::exec::eval::with_ref(key, row, |v| {
        encode_key_into(
            crate::exec::format::key::KeyFormat::of(format),
            &[("", key_type, v)],
            out,
        )
    })
}

/// Row positions of a windowed side's WINDOWSTART and WINDOWEND.
fn window_slots(side: &SideInput) -> Option<(usize, usize)> {
    side.source.window?;
    side.source
        .schema
        .window_slots()
        .map(|(s, e)| (side.base + s, side.base + e))
}

/// Row positions of a side's fields (start, length) that the operators read.
pub(super) fn used_fields(ops: &Operators, (base, len): (usize, usize)) -> Vec<usize> {
    let mut used: Vec<usize> = ops
        .columns()
        .into_iter()
        .filter(|&c| c >= base && c < base + len)
        .collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// `fill` of only the positions `used` of the side starting at `base`: each copy of a
/// shared value is a reference count, which other tasks may touch too.
pub(super) fn fill_used(row: &mut [Value], base: usize, used: &[usize], values: Option<&[Value]>) {
    for &i in used {
        row[i] = values.map_or(Value::Null, |v| v[i - base].clone());
    }
}

pub(super) use crate::exec::sinks::repartition::key_type;

pub(super) fn key_bytes(format: Format, ty: &SqlType, v: &Value) -> Option<Bytes> {
    encode_key(
        crate::exec::format::key::KeyFormat::of(format),
        &[("", ty, v)],
    )
    .map(Bytes::from)
}

/// A record's key, copied to be kept in state: the record's own key is a slice of the
/// buffer its batch was read into, and keeping it would keep that whole buffer alive.
pub(super) fn owned_key(key: &[u8]) -> Bytes {
    Bytes::copy_from_slice(key)
}

/// Copies a side's fields out of a row.
pub(super) fn part(row: &[Value], (base, len): (usize, usize)) -> Vec<Value> {
    row[base..base + len].to_vec()
}

/// Writes a side's fields (or NULLs) into a row.
pub(super) fn fill(row: &mut [Value], (base, len): (usize, usize), values: Option<&[Value]>) {
    match values {
        Some(v) => row[base..base + len].clone_from_slice(v),
        None => row[base..base + len]
            .iter_mut()
            .for_each(|x| *x = Value::Null),
    }
}
