//! ListOffsets: -2 is the log start (earliest), -1 the high watermark (latest), a
//! timestamp the first offset whose record is at or after it (-1 when none is).

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use super::check_leader;
use crate::errors;
use crate::state::Ctx;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub fn handle(ctx: &Ctx, r: ListOffsetsRequest) -> ListOffsetsResponse {
    let mut resp = ListOffsetsResponse::default();
    for t in r.topics {
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            match offset(ctx, t.name.0.as_str(), p.partition_index, p.timestamp) {
                Ok((timestamp, offset)) => {
                    pr.timestamp = timestamp;
                    pr.offset = offset;
                }
                Err(code) => {
                    pr.error_code = code;
                    pr.timestamp = -1;
                    pr.offset = -1;
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

/// (timestamp, offset) for a partition and a ListOffsets timestamp.
fn offset(ctx: &Ctx, topic: &str, partition: i32, timestamp: i64) -> Result<(i64, i64), i16> {
    check_leader(ctx, topic, partition)?;
    let c = &ctx.shared.cluster;
    let p = partition as u32;
    let (start, hw, _) = c.offsets(topic, p).map_err(|e| errors::code(&e))?;
    match timestamp {
        LATEST => Ok((-1, hw as i64)),
        EARLIEST => Ok((-1, start as i64)),
        t if t >= 0 => match c
            .offset_for_timestamp(topic, p, t)
            .map_err(|e| errors::code(&e))?
        {
            Some(o) => {
                let at = c.fetch(topic, p, o, 1).map_err(|e| errors::code(&e))?;
                Ok((at.first().map_or(-1, |r| r.timestamp_ms), o as i64))
            }
            None => Ok((-1, -1)),
        },
        // -3 (the record with the largest timestamp) and the tiered-storage variants.
        _ => Err(ResponseError::UnsupportedVersion.code()),
    }
}
