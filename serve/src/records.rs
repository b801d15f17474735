//! Kafka v2 record batches on the wire, to and from the log's records. Keys, values,
//! timestamps and headers cross unchanged. Only uncompressed batches are accepted: a
//! compressed one would be expanded in memory to a size the frame limit does not bound.

use bytes::{Buf, Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as WireRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use kafka_protocol::ResponseError;
use kql_runtime::{Header, RecordBatch};

/// Bytes of a v2 batch before its records.
const BATCH_HEADER_BYTES: usize = 61;
/// The smallest encoded record (length, attributes, timestamp and offset deltas, key and
/// value lengths, header count: one byte each).
const RECORD_BYTES_MIN: usize = 7;
const MAGIC_AT: usize = 16;
const ATTRIBUTES_AT: usize = 21;
const RECORD_COUNT_AT: usize = 57;
const COMPRESSION_MASK: i16 = 0x07;
const CONTROL_BIT: i16 = 0x20;
const TRANSACTIONAL_BIT: i16 = 0x10;

/// One produced batch as the log takes it.
pub struct ProducedBatch {
    pub records: Vec<WireRecord>,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

/// The records of a Produce request's partition, checked before anything is decoded:
/// every batch is v2, uncompressed, not transactional, with a record count its bytes can
/// hold. Errors are Kafka error codes.
pub fn decode_produced(mut bytes: Bytes) -> Result<Vec<ProducedBatch>, i16> {
    let corrupt = ResponseError::CorruptMessage.code();
    check_batches(&bytes)?;
    let mut out = Vec::new();
    while bytes.has_remaining() {
        let set = RecordBatchDecoder::decode(&mut bytes).map_err(|_| corrupt)?;
        let first = set.records.first();
        out.push(ProducedBatch {
            producer_id: first.map_or(-1, |r| r.producer_id),
            producer_epoch: first.map_or(-1, |r| r.producer_epoch),
            base_sequence: first.map_or(-1, |r| r.sequence),
            records: set.records,
        });
    }
    Ok(out)
}

fn check_batches(mut b: &[u8]) -> Result<(), i16> {
    let corrupt = ResponseError::CorruptMessage.code();
    if b.is_empty() {
        return Err(ResponseError::InvalidRecord.code());
    }
    while !b.is_empty() {
        if b.len() < BATCH_HEADER_BYTES {
            return Err(corrupt);
        }
        let length = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
        let total = usize::try_from(length).map_err(|_| corrupt)? + 12;
        if total < BATCH_HEADER_BYTES || total > b.len() {
            return Err(corrupt);
        }
        if b[MAGIC_AT] != 2 {
            return Err(ResponseError::UnsupportedForMessageFormat.code());
        }
        let attributes = i16::from_be_bytes([b[ATTRIBUTES_AT], b[ATTRIBUTES_AT + 1]]);
        if attributes & COMPRESSION_MASK != 0 {
            return Err(ResponseError::UnsupportedCompressionType.code());
        }
        if attributes & (TRANSACTIONAL_BIT | CONTROL_BIT) != 0 {
            return Err(ResponseError::InvalidRecord.code());
        }
        let count = i32::from_be_bytes(
            b[RECORD_COUNT_AT..RECORD_COUNT_AT + 4]
                .try_into()
                .unwrap_or_default(),
        );
        let room = (total - BATCH_HEADER_BYTES) / RECORD_BYTES_MIN;
        if count < 0 || count as usize > room {
            return Err(corrupt);
        }
        b = &b[total..];
    }
    Ok(())
}

/// A record's headers in the log's form (a null header value becomes empty).
pub fn headers_of(r: &WireRecord) -> Vec<Header> {
    r.headers
        .iter()
        .map(|(k, v)| Header {
            name: k.as_str().to_string(),
            value: v.clone().unwrap_or_default(),
        })
        .collect()
}

/// Appends the log's batches to `out` as Kafka v2 batches, whole: one wire batch per log
/// batch, from its first record, even when the reader asked for an offset inside it (the
/// client skips what it has, as with Kafka). Stops after the batch that reaches
/// `bytes_max`; the first batch always goes.
pub fn encode_fetched(
    batches: &[RecordBatch],
    out: &mut BytesMut,
    bytes_max: usize,
) -> Result<(), String> {
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    let mut records: Vec<WireRecord> = Vec::new();
    for b in batches {
        if !out.is_empty() && out.len() >= bytes_max {
            break;
        }
        records.clear();
        let base = b.base_offset();
        for v in b.iter() {
            let v = v.map_err(|e| e.to_string())?;
            let mut headers = IndexMap::new();
            for (n, hv) in v.headers() {
                let name = StrBytes::from_utf8(b.owned(n)).map_err(|e| e.to_string())?;
                headers.insert(name, Some(b.owned(hv)));
            }
            records.push(WireRecord {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: v.offset as i64,
                // Constant offset-minus-sequence keeps the log batch one wire batch, whose
                // base sequence is then -1 (no sequence).
                sequence: (v.offset - base) as i32 - 1,
                timestamp: v.timestamp_ms,
                key: v.key.map(|k| b.owned(k)),
                value: v.value.map(|x| b.owned(x)),
                headers,
            });
        }
        if records.is_empty() {
            continue;
        }
        RecordBatchEncoder::encode(out, records.iter(), &options).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kql_runtime::{Acks, Cluster, ProducerRecord, TopicConfig};

    #[test]
    fn a_log_batch_goes_out_whole_and_comes_back_with_keys_values_timestamps_headers() {
        let c = Cluster::in_memory(1);
        c.create_topic("t", TopicConfig::default()).unwrap();
        let mut r1 = ProducerRecord::new(
            Some(Bytes::from_static(b"k1")),
            Some(Bytes::from_static(b"v1")),
        );
        r1.timestamp_ms = Some(1000);
        r1.headers.push(Header {
            name: "h".into(),
            value: Bytes::from_static(b"x"),
        });
        let r2 = ProducerRecord::new(None, None).with_timestamp(2000);
        c.produce_batch("t", 0, vec![r1, r2], Acks::Leader).unwrap();
        // Asked from offset 1, inside the batch: the whole batch comes back, from offset 0.
        let first = c.fetch_batches("t", 0, 1, 10).unwrap()[0].base_offset();
        let batches = c.fetch_batches("t", 0, first, 10).unwrap();
        let mut out = BytesMut::new();
        encode_fetched(&batches, &mut out, 1 << 20).unwrap();
        let decoded = decode_produced(out.freeze()).unwrap();
        assert_eq!(decoded.len(), 1);
        let rs = &decoded[0].records;
        assert_eq!(rs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(rs[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(rs[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(rs[0].timestamp, 1000);
        assert_eq!(
            headers_of(&rs[0]),
            vec![Header {
                name: "h".into(),
                value: Bytes::from_static(b"x")
            }]
        );
        assert_eq!(
            (rs[1].key.clone(), rs[1].value.clone(), rs[1].timestamp),
            (None, None, 2000)
        );
        assert_eq!(decoded[0].base_sequence, -1);
    }

    #[test]
    fn a_batch_claiming_more_records_than_its_bytes_hold_is_corrupt_before_decoding() {
        let c = Cluster::in_memory(1);
        c.create_topic("t", TopicConfig::default()).unwrap();
        c.produce_batch(
            "t",
            0,
            vec![ProducerRecord::new(None, Some(Bytes::from_static(b"v")))],
            Acks::Leader,
        )
        .unwrap();
        let mut out = BytesMut::new();
        encode_fetched(&c.fetch_batches("t", 0, 0, 10).unwrap(), &mut out, 1 << 20).unwrap();
        out[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(
            decode_produced(out.freeze()).err(),
            Some(ResponseError::CorruptMessage.code())
        );
        let mut gz = BytesMut::new();
        encode_fetched(&c.fetch_batches("t", 0, 0, 10).unwrap(), &mut gz, 1 << 20).unwrap();
        gz[ATTRIBUTES_AT + 1] |= 1;
        assert_eq!(
            decode_produced(gz.freeze()).err(),
            Some(ResponseError::UnsupportedCompressionType.code())
        );
    }
}
