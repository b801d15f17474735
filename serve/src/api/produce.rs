//! Produce: each partition's batches are checked, converted and appended with the
//! request's acks (0: no response at all, as Kafka does; 1: the leader has them; -1: every
//! in-sync replica has them). Only the partition's leader takes writes.

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;
use kql_runtime::{Acks, ProducerRef};

use super::check_leader;
use super::producers::Sequenced;
use crate::errors;
use crate::records::{decode_produced, headers_of};
use crate::state::Ctx;

pub fn handle(ctx: &Ctx, r: ProduceRequest) -> Option<ProduceResponse> {
    let acks = match r.acks {
        0 => Some(Acks::None),
        1 => Some(Acks::Leader),
        -1 => Some(Acks::All),
        _ => None,
    };
    let mut resp = ProduceResponse::default();
    // What the request's compressed batches may expand to, all partitions together.
    let mut allowance = crate::limits::PRODUCE_EXPANDED_BYTES_MAX;
    for t in r.topic_data {
        let topic = t.name.0.to_string();
        let mut tr = TopicProduceResponse::default();
        tr.name = t.name.clone();
        for p in t.partition_data {
            let mut pr = PartitionProduceResponse::default();
            pr.index = p.index;
            pr.log_append_time_ms = -1;
            let result = match acks {
                None => Err(ResponseError::InvalidRequiredAcks.code()),
                Some(acks) => {
                    let records = p.records.unwrap_or_default();
                    append(ctx, &topic, p.index, records, acks, &mut allowance)
                }
            };
            match result {
                Ok(base) => pr.base_offset = base as i64,
                Err(code) => {
                    pr.error_code = code;
                    pr.base_offset = -1;
                }
            }
            if let Ok((start, _, _)) = ctx.shared.cluster.offsets(&topic, p.index as u32) {
                pr.log_start_offset = start as i64;
            }
            tr.partition_responses.push(pr);
        }
        resp.responses.push(tr);
    }
    ctx.shared.appended.notify_waiters();
    (r.acks != 0).then_some(resp)
}

/// Appends a partition's batches; the offset of the first record.
fn append(
    ctx: &Ctx,
    topic: &str,
    partition: i32,
    records: bytes::Bytes,
    acks: Acks,
    allowance: &mut usize,
) -> Result<u64, i16> {
    check_leader(ctx, topic, partition)?;
    let cluster = &ctx.shared.cluster;
    let producers = &ctx.shared.producers;
    let mut first_offset = None;
    for batch in decode_produced(records, allowance)? {
        let (pid, epoch, seq) = (batch.producer_id, batch.producer_epoch, batch.base_sequence);
        let base = match producers.check(pid, epoch, topic, partition, seq) {
            Sequenced::Duplicate(base) => base,
            Sequenced::OutOfOrder => return Err(ResponseError::OutOfOrderSequenceNumber.code()),
            Sequenced::Append => {
                let headers: Vec<_> = batch.records.iter().map(headers_of).collect();
                let refs: Vec<ProducerRef> = batch
                    .records
                    .iter()
                    .zip(&headers)
                    .map(|(r, h)| ProducerRef {
                        key: r.key.as_deref(),
                        value: r.value.as_deref(),
                        // -1: the producer left it to the broker (the time of append).
                        timestamp_ms: (r.timestamp >= 0).then_some(r.timestamp),
                        headers: h,
                    })
                    .collect();
                let base = cluster
                    .produce_refs(topic, partition as u32, &refs, acks)
                    .map_err(|e| errors::code(&e))?;
                producers.appended(pid, epoch, topic, partition, seq, refs.len(), base);
                base
            }
        };
        first_offset.get_or_insert(base);
    }
    Ok(first_offset.unwrap_or(0))
}
