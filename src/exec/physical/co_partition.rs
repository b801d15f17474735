//! The distribution a co-partitioned join requires of its inputs, decided while lowering:
//! task i joins partition i of both sides, so both must be keyed by their join expression
//! and have as many partitions. A side that is not keyed so (a value column, or the rows of
//! an inner join) is repartitioned into an internal topic with the other side's count and
//! key format. Two streams keyed in different key formats: the right one is re-keyed into
//! the left's format, as in ksqlDB; a stream joined to a table in another format is re-keyed
//! into the table's; of two tables, the right one is re-keyed into the left's format (its
//! deletions as tombstones). Two sides keyed already but with different counts are
//! KQL0401, pointing at the join and at both declarations.

use crate::diagnostic::{Code, Diagnostic};
use crate::plan::catalog::Format;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::{Join, JoinKind, LogicalPlan, Source};
use crate::syntax::span::Span;

/// How one side of a join is repartitioned.
pub struct SideRepartition {
    pub key: TypedExpr,
    /// The key as written, for EXPLAIN.
    pub key_text: String,
    pub partitions: u32,
    pub key_format: Format,
}

/// Which sides of a join run through a repartition (None: read as they are).
pub struct CoPartitioning {
    pub left: Option<SideRepartition>,
    pub right: Option<SideRepartition>,
}

/// The repartitions a co-partitioned join needs, or why its sides cannot be co-partitioned.
/// `right_offset`: where the right side's columns start in the joined row.
pub fn co_partition(j: &Join, right_offset: usize) -> Result<CoPartitioning, Diagnostic> {
    let LogicalPlan::Source(right) = &*j.right else {
        return Err(Diagnostic::internal(
            "a join whose right side is not a source",
        ));
    };
    let left_source = match &*j.left {
        LogicalPlan::Source(s) => Some(s),
        _ => None,
    };
    // A join of joins is named after, and counted as, the first source of its FROM.
    let first = *j
        .left
        .sources()
        .first()
        .ok_or_else(|| Diagnostic::internal("a join without a left source"))?;
    if let Some(inner) = kept_key_of_inner_join(j) {
        // Its rows stay where the inner join put them, as ksqlDB leaves them: keyed by
        // this join's key already, on the inner table's partitions.
        let (lp, rp) = (inner.partitions, right.partitions);
        if lp != rp && inner.key_format == right.key_format {
            let help = format!(
                "copy {r} into a table with {n}, as many as {t} has, and join that instead:\n  CREATE TABLE {r}_{lp} WITH (partitions={lp}) AS SELECT * FROM {r};",
                r = right.name,
                t = inner.name,
                n = crate::diagnostic::count(lp, "partition"),
            );
            return Err(count_error(first, right, lp, rp, j.kind, j.span).help(help));
        }
    }
    let mut repartition_left = !keyed_by(left_source, &j.left_key, 0);
    let mut repartition_right =
        j.kind == JoinKind::StreamStream && !keyed_by(Some(right), &j.right_key, right_offset);
    // Sides keyed alike but in different key formats: the same key is different bytes,
    // so a stream is re-keyed into the other side's format, as ksqlDB re-keys its right
    // side. A table is read as it is, so in a stream-table join the stream is the one.
    // Two tables: the right one is re-keyed into the left's format, its deletions too.
    if first.key_format != right.key_format && !repartition_left && !repartition_right {
        match j.kind {
            JoinKind::StreamTable => repartition_left = true,
            _ => repartition_right = true,
        }
    }
    let (lp, rp) = (first.partitions, right.partitions);
    if !repartition_left && !repartition_right && lp != rp {
        return Err(count_error(first, right, lp, rp, j.kind, j.span));
    }
    // A side that is repartitioned anyway gets the other side's count and key format, so
    // that equal keys are equal bytes on the same partition of both; when both are, the
    // left's format (KAFKA for a left without a key).
    let left_format = match first.key_format {
        Format::None => Format::Kafka,
        f => f,
    };
    let left = repartition_left.then(|| SideRepartition {
        key: j.left_key.clone(),
        key_text: j.key_texts.0.clone(),
        partitions: if repartition_right { lp } else { rp },
        key_format: if repartition_right {
            left_format
        } else {
            right.key_format
        },
    });
    let right = repartition_right.then(|| SideRepartition {
        key: j.right_key.clone(),
        key_text: j.key_texts.1.clone(),
        partitions: lp,
        key_format: left_format,
    });
    Ok(CoPartitioning { left, right })
}

/// A stream-table join of joins whose inner join is a stream-table join of a stream keyed
/// by its join key, on that same key (`S JOIN T2 ON S.ID = T2.ID JOIN T3 ON S.ID = T3.ID`):
/// the inner join's table, whose partitions the joined rows are on. ksqlDB does not
/// repartition such rows, so it refuses the join when the tables' partition counts differ;
/// kql refuses it too (a count that matches is read through a repartition, with the same
/// rows).
fn kept_key_of_inner_join(j: &Join) -> Option<&Source> {
    let LogicalPlan::Join(inner) = &*j.left else {
        return None;
    };
    let (LogicalPlan::Source(stream), LogicalPlan::Source(table)) = (&*inner.left, &*inner.right)
    else {
        return None;
    };
    let keyed = j.kind == JoinKind::StreamTable
        && inner.kind == JoinKind::StreamTable
        && keyed_by(Some(stream), &inner.left_key, 0)
        && j.left_key.kind == inner.left_key.kind
        && stream.key_format == table.key_format;
    keyed.then_some(table)
}

/// Is this side a source keyed by exactly its join expression (`offset`: where its columns
/// start in the joined row)?
fn keyed_by(side: Option<&Source>, key: &TypedExpr, offset: usize) -> bool {
    side.is_some_and(|s| {
        s.key_positions.len() == 1 && key.kind == TExpr::Column(offset + s.key_positions[0])
    })
}

/// Where a source's partition count comes from, said at its declaration.
fn count_label(s: &Source, n: u32) -> (Span, String) {
    let plural = if n == 1 { "" } else { "s" };
    match &s.partitions_declared {
        Some((at, text)) if !text.contains(&n.to_string()) => (
            *at,
            format!(
                "{} declares {text}, but its topic '{}' has {n} partitions in the log",
                s.name, s.topic
            ),
        ),
        Some((at, _)) => (
            *at,
            format!("{}'s topic '{}' has {n} partition{plural}", s.name, s.topic),
        ),
        None => (
            s.declared_at,
            format!(
                "{}'s topic '{}' has {n} partition{plural} (the default)",
                s.name, s.topic
            ),
        ),
    }
}

fn count_error(
    left: &Source,
    right: &Source,
    lp: u32,
    rp: u32,
    kind: JoinKind,
    join: Span,
) -> Diagnostic {
    let (ls, lm) = count_label(left, lp);
    let (rs, rm) = count_label(right, rp);
    let help = match kind {
        JoinKind::StreamTable | JoinKind::StreamStream => {
            let key = left
                .key_positions
                .first()
                .map_or("key", |&i| left.schema.fields[i].name.as_str());
            format!(
                "copy the stream into a topic with {n} and join that instead:\n  CREATE STREAM {l}_BY_{key} WITH (partitions={rp}) AS SELECT * FROM {l} PARTITION BY {key};",
                l = left.name,
                n = crate::diagnostic::count(rp, "partition")
            )
        }
        _ => format!(
            "copy one table into a topic with {n} and join that instead:\n  CREATE TABLE {l}_{rp} WITH (partitions={rp}) AS SELECT * FROM {l};",
            l = left.name,
            n = crate::diagnostic::count(rp, "partition")
        ),
    };
    Diagnostic::new(
        Code::NotCoPartitioned,
        format!(
            "cannot join {} ({}) with {} ({}): a {} join needs both topics co-partitioned",
            left.name,
            crate::diagnostic::count(lp, "partition"),
            right.name,
            crate::diagnostic::count(rp, "partition"),
            kind.describe()
        ),
    )
    .label(join, "joined here: partition i of one side meets partition i of the other")
    .label(ls, lm)
    .label(rs, rm)
    .help(help)
    .note("co-partitioned means the same number of partitions, the same key type and key format, and the same partitioner, so a key is on the same partition of both topics")
}
