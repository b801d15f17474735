//! Repartitioning a join side: every record of the source is decoded, its join key
//! computed, and the row written to an internal topic keyed by that key, so the
//! partitioner puts equal keys on equal partitions. The record keeps its event time as
//! its timestamp; the value holds all the source's columns (the key is only for routing).

use bytes::Bytes;
use kql_runtime::{Acks, Cluster, ProducerRecord, TopicConfig};

use super::input::Input;
use crate::data::SqlType;
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::decode::SourceDecoder;
use crate::exec::eval::eval;
use crate::exec::format::json::encode_object;
use crate::exec::physical::{ranges, StartAt};
use crate::exec::task::PartitionReader;
use crate::plan::logical::{Repartition, Source};
use crate::plan::schema::PSEUDO_COLUMNS;

pub fn run(
    _runtime: &tokio::runtime::Runtime,
    cluster: &Cluster,
    r: &Repartition,
    source: &Source,
    base: usize,
    topic: &str,
    start: StartAt,
) -> Result<(), Diagnostic> {
    let err = |e: String| {
        Diagnostic::new(
            Code::TopicError,
            format!("repartitioning {} into '{topic}' failed: {e}", source.name),
        )
    };
    cluster
        .create_topic(
            topic,
            TopicConfig {
                partitions: r.partitions,
                ..TopicConfig::default()
            },
        )
        .map_err(|e| err(e.to_string()))?;
    let all: Vec<usize> = (0..source.schema.len()).collect();
    let decoder = SourceDecoder::new(source, base, &all);
    let width = base + source.schema.len();
    let fields = &source.schema.fields[PSEUDO_COLUMNS.len()..];
    let mut value = Vec::new();
    for range in ranges(cluster, &source.topic, start)? {
        let mut input = Input::new(
            PartitionReader::new(cluster.clone(), source.topic.clone(), range),
            decoder.clone(),
            width,
        );
        let mut pending: Vec<Vec<ProducerRecord>> = vec![Vec::new(); r.partitions as usize];
        while let Some(event_time) = input.peek().map_err(err)? {
            let (_, record) = input.take().expect("peeked");
            if record.tombstone {
                continue;
            }
            let row = &input.row;
            let key_value = eval(&r.key, row);
            let ty = if r.key.ty == SqlType::Null {
                SqlType::String
            } else {
                r.key.ty.clone()
            };
            let key = super::key_bytes(r.key_format, &ty, &key_value);
            value.clear();
            let cols: Vec<(&str, &SqlType, &crate::data::Value)> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (
                        f.name.as_str(),
                        &f.ty,
                        &row[base + PSEUDO_COLUMNS.len() + i],
                    )
                })
                .collect();
            encode_object(&cols, &mut value);
            let partition = cluster
                .partition_for(topic, key.as_deref())
                .map_err(|e| err(e.to_string()))?;
            pending[partition as usize].push(ProducerRecord {
                key: key.clone(),
                value: Some(Bytes::copy_from_slice(&value)),
                timestamp_ms: Some(event_time),
                partition: None,
                headers: Vec::new(),
            });
        }
        for (p, batch) in pending.into_iter().enumerate() {
            if !batch.is_empty() {
                cluster
                    .produce_batch(topic, p as u32, batch, Acks::All)
                    .map_err(|e| err(e.to_string()))?;
            }
        }
    }
    Ok(())
}
