//! Idempotent producers: InitProducerId hands out producer ids, and each partition
//! remembers the sequence numbers of a producer's last batch, so a retried batch is
//! acknowledged with its first offset instead of being appended twice. Transactions are
//! not supported: a transactional id is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use crate::limits::PRODUCER_STATES_MAX;
use crate::state::Ctx;

#[derive(Default)]
pub struct Producers {
    last_id: AtomicI64,
    /// (producer id, topic, partition) -> the last appended batch.
    last: Mutex<HashMap<(i64, String, i32), LastBatch>>,
}

#[derive(Clone, Copy)]
struct LastBatch {
    epoch: i16,
    first_sequence: i32,
    last_sequence: i32,
    base_offset: u64,
}

/// What to do with a producer's batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Sequenced {
    Append,
    /// The batch was appended before, at this offset.
    Duplicate(u64),
    OutOfOrder,
}

impl Producers {
    pub fn check(
        &self,
        pid: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
        first: i32,
    ) -> Sequenced {
        if pid < 0 {
            return Sequenced::Append;
        }
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match last.get(&(pid, topic.to_string(), partition)) {
            // Unknown here (first batch, or forgotten): accept, as a new producer.
            None => Sequenced::Append,
            Some(l) if l.epoch != epoch => Sequenced::Append,
            Some(l) if l.first_sequence == first => Sequenced::Duplicate(l.base_offset),
            Some(l) if first == l.last_sequence.wrapping_add(1) => Sequenced::Append,
            Some(_) => Sequenced::OutOfOrder,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn appended(
        &self,
        pid: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
        first: i32,
        count: usize,
        base_offset: u64,
    ) {
        if pid < 0 {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.len() >= PRODUCER_STATES_MAX {
            last.clear();
        }
        last.insert(
            (pid, topic.to_string(), partition),
            LastBatch {
                epoch,
                first_sequence: first,
                last_sequence: first.wrapping_add(count as i32 - 1),
                base_offset,
            },
        );
    }
}

pub fn init_producer_id(ctx: &Ctx, r: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default();
    if r.transactional_id.is_some() {
        resp.error_code = ResponseError::TransactionalIdAuthorizationFailed.code();
        resp.producer_id = ProducerId(-1);
        resp.producer_epoch = -1;
        return resp;
    }
    resp.producer_id = ProducerId(ctx.shared.producers.last_id.fetch_add(1, Ordering::Relaxed) + 1);
    resp.producer_epoch = 0;
    resp
}
