//! Fetch with long polling: the response goes out once it holds `min_bytes` of records,
//! or when `max_wait_ms` (capped by `FETCH_WAIT_MAX`) has passed. A Produce through the
//! wire wakes waiting fetches at once; records the file's queries write are seen within
//! `FETCH_POLL_INTERVAL`. Batches go out whole, from their first record. Fetch sessions
//! are not kept (session id 0): clients then send full requests, which Kafka allows.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;
use tokio::time::Instant;

use super::check_leader;
use crate::errors;
use crate::limits::{
    FETCH_POLL_INTERVAL, FETCH_READ_RECORDS, FETCH_RESPONSE_BYTES_MAX, FETCH_WAIT_MAX,
};
use crate::records::encode_fetched;
use crate::state::Ctx;

pub async fn handle(ctx: &Ctx, r: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(r.max_wait_ms.max(0) as u64).min(FETCH_WAIT_MAX);
    let deadline = Instant::now() + wait;
    loop {
        let woken = ctx.shared.appended.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let (resp, bytes, errors) = read(ctx, &r);
        let now = Instant::now();
        if bytes >= r.min_bytes.max(0) as usize || errors || now >= deadline {
            return resp;
        }
        let nap = (deadline - now).min(FETCH_POLL_INTERVAL);
        let _ = tokio::time::timeout(nap, woken).await;
    }
}

/// One pass over the requested partitions: the response, its record bytes, and whether
/// any partition had an error (answered at once, as Kafka does).
fn read(ctx: &Ctx, r: &FetchRequest) -> (FetchResponse, usize, bool) {
    let mut resp = FetchResponse::default();
    let mut budget = (r.max_bytes.max(1) as usize).min(FETCH_RESPONSE_BYTES_MAX);
    let mut total = 0;
    let mut any_error = false;
    for t in &r.topics {
        let topic = t.topic.0.as_str();
        let mut tr = FetchableTopicResponse::default();
        tr.topic = t.topic.clone();
        for p in &t.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = p.partition;
            pd.preferred_read_replica = kafka_protocol::messages::BrokerId(-1);
            let limit = (p.partition_max_bytes.max(1) as usize).min(budget);
            match partition(ctx, topic, p.partition, p.fetch_offset, limit) {
                Ok((hw, start, records)) => {
                    pd.high_watermark = hw as i64;
                    pd.last_stable_offset = hw as i64;
                    pd.log_start_offset = start as i64;
                    total += records.len();
                    budget = budget.saturating_sub(records.len());
                    pd.records = Some(records.freeze());
                }
                Err(code) => {
                    any_error = true;
                    pd.error_code = code;
                    pd.high_watermark = -1;
                    pd.last_stable_offset = -1;
                    pd.log_start_offset = -1;
                }
            }
            tr.partitions.push(pd);
        }
        resp.responses.push(tr);
    }
    (resp, total, any_error)
}

/// (high watermark, log start, encoded batches) of one partition from `offset`.
fn partition(
    ctx: &Ctx,
    topic: &str,
    partition: i32,
    offset: i64,
    bytes_max: usize,
) -> Result<(u64, u64, BytesMut), i16> {
    check_leader(ctx, topic, partition)?;
    let cluster = &ctx.shared.cluster;
    let p = partition as u32;
    let (start, hw, _) = cluster.offsets(topic, p).map_err(|e| errors::code(&e))?;
    let mut out = BytesMut::new();
    if offset < start as i64 || offset > hw as i64 {
        return Err(ResponseError::OffsetOutOfRange.code());
    }
    let offset = offset as u64;
    if offset == hw || bytes_max == 0 {
        return Ok((hw, start, out));
    }
    let mut batches = cluster
        .fetch_batches(topic, p, offset, FETCH_READ_RECORDS)
        .map_err(|e| errors::code(&e))?;
    // The offset is inside the first batch: read it again from its start, whole.
    if let Some(first) = batches
        .first()
        .map(|b| b.base_offset())
        .filter(|&b| b < offset)
    {
        batches = cluster
            .fetch_batches(topic, p, first, FETCH_READ_RECORDS)
            .map_err(|e| errors::code(&e))?;
    }
    encode_fetched(&batches, &mut out, bytes_max)
        .map_err(|_| ResponseError::CorruptMessage.code())?;
    Ok((hw, start, out))
}
