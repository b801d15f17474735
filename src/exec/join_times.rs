//! A stream-table join looks each stream record up in the table as it was at the record's
//! time. When every table record is later than every stream record (typically: the stream
//! was loaded with its events' times, the table stamped with the time it was loaded), no
//! stream record can find a table row: the join's output is all NULLs (LEFT) or nothing
//! (INNER). That is correct, but rarely meant, so it is said before the query runs.

use crate::exec::log::{LogHandle, Offsets};

use crate::data::value::format_timestamp;
use crate::plan::logical::{JoinKind, LogicalPlan, Source};

/// The warning for each stream-table join of `plan` whose table side is entirely later
/// than its stream side, judged from the record timestamps in the log (sources with a
/// timestamp column are not judged: their event time is in the value).
pub fn table_later_than_stream(log: &LogHandle, plan: &LogicalPlan) -> Vec<String> {
    let mut warnings = Vec::new();
    if let LogicalPlan::Join(j) = plan {
        let source = |p: &LogicalPlan| match p {
            LogicalPlan::Source(s) => Some(s.clone()),
            _ => None,
        };
        if let (JoinKind::StreamTable, Some(stream), Some(table)) =
            (j.kind, source(&j.left), source(&j.right))
        {
            warnings.extend(check(log, &stream, &table));
        }
    }
    for input in plan.inputs() {
        warnings.extend(table_later_than_stream(log, input));
    }
    warnings
}

fn check(log: &LogHandle, stream: &Source, table: &Source) -> Option<String> {
    if stream.timestamp_column.is_some() || table.timestamp_column.is_some() {
        return None;
    }
    let (_, stream_last) = time_span(log, &stream.topic)?;
    let (table_first, _) = time_span(log, &table.topic)?;
    (table_first > stream_last).then(|| {
        format!(
            "every record of table {} (from {}) is later than every record of stream {} (up to {}): \
             a stream record is joined with the table as it was at its time, so none finds a table row. \
             Give the records their events' times: ROWTIME in INSERT, 'timestamp.field' on a source \
             connector, `--timestamp-field` of kql produce, or a `timestamp` column",
            table.name,
            format_timestamp(table_first),
            stream.name,
            format_timestamp(stream_last)
        )
    })
}

/// The smallest and largest record timestamps of a topic (None when it is empty). Only
/// the first and last record of each partition are read: timestamps mostly grow along a
/// partition, and this is a hint, not a proof.
fn time_span(log: &LogHandle, topic: &str) -> Option<(i64, i64)> {
    let mut span: Option<(i64, i64)> = None;
    for p in 0..log.partition_count(topic)? {
        let Offsets {
            log_start,
            high_watermark,
            ..
        } = log.offsets(topic, p).ok()?;
        if high_watermark <= log_start {
            continue;
        }
        for offset in [log_start, high_watermark - 1] {
            let mut fetched = log.fetch(topic, p, offset, high_watermark, 1).ok()?;
            if let Some(r) = fetched.next_record() {
                let t = r.ok()?.timestamp_ms;
                span = Some(span.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
            }
        }
    }
    span
}
