//! Pull queries: `SELECT ... FROM table [WHERE ...];` answers from the table's current
//! state and ends. The state is built by reading every partition of the table's topic
//! from its log start to its high watermark, keeping the latest row of each key (a
//! tombstone deletes it), as the table's materialization in ksqlDB holds it. Rows come out
//! in partition order, then by the offset of their latest update. A windowed table's key
//! includes its window, so it has a row per key and window: the windows its topic still
//! holds (the topic's retention), with WINDOWSTART and WINDOWEND to filter on.

use std::collections::HashMap;

use crate::exec::log::LogHandle;
use bytes::Bytes;

use super::decode::SourceDecoder;
use super::operators::join::Input;
use super::operators::pipeline::Operators;
use super::output::Output;
use super::physical::{ranges, StartAt};
use super::task::{OutputRow, PartitionReader};
use crate::data::Value;
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::logical::LogicalPlan;
use crate::plan::QueryPlan;

pub fn run(log: &LogHandle, plan: &QueryPlan, out: &mut dyn Output) -> Result<(), Diagnostic> {
    let (ops, input) = Operators::split(plan);
    let LogicalPlan::Source(source) = input else {
        return Err(Diagnostic::internal(
            "a pull query over something other than a table",
        ));
    };
    let decoder = SourceDecoder::new(source, 0);
    let width = source.schema.len();
    let mut rows: Vec<(u32, u64, i64, Vec<Value>)> = Vec::new();
    let mut bad = 0u64;
    for range in ranges(log, &source.topic, StartAt::Earliest)? {
        let mut input = Input::new(
            PartitionReader::new(log.clone(), source.topic.clone(), range),
            decoder.clone(),
            width,
        );
        let mut latest: HashMap<Option<Bytes>, (u64, i64, Vec<Value>)> = HashMap::new();
        while input
            .peek()
            .map_err(|e| Diagnostic::new(Code::TopicError, e))?
            .is_some()
        {
            let (time, record) = input.take().expect("peeked");
            if !record.tombstone {
                latest.insert(record.key.clone(), (record.offset, time, input.row.clone()));
            } else {
                latest.remove(&record.key);
            }
        }
        bad += input.stats.bad_records;
        rows.extend(
            latest
                .into_values()
                .map(|(offset, time, row)| (range.partition, offset, time, row)),
        );
    }
    rows.sort_by_key(|(p, o, _, _)| (*p, *o));
    let columns = super::output::result_columns(plan);
    out.begin(&columns);
    let mut produced: Vec<OutputRow> = Vec::new();
    let limit = plan.limit.unwrap_or(u64::MAX) as usize;
    for (partition, offset, time, row) in &rows {
        ops.apply(row, *time, *partition, *offset, &mut produced);
        if produced.len() >= limit {
            break;
        }
    }
    for r in &produced {
        out.row(&r.values);
    }
    out.end();
    if bad > 0 {
        out.warning(&format!(
            "skipped {bad} record(s) of {} that could not be read",
            source.name
        ));
    }
    Ok(())
}
