//! Kafka v2 record batches on the wire, to and from the log's records. Keys, values,
//! timestamps and headers cross unchanged. Compressed batches are expanded within a bound
//! (`compression.rs`); the log keeps records uncompressed, and Fetch sends them so.

use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as WireRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use kafka_protocol::ResponseError;
use kql_runtime::{Header, RecordBatch};

use crate::compression;

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
/// every batch is v2, not transactional, with a record count its bytes can hold (for a
/// compressed batch: its expanded bytes). A compressed batch is expanded within
/// `allowance`, the bytes the request may still expand to, which it uses up. Errors are
/// Kafka error codes.
pub fn decode_produced(mut bytes: Bytes, allowance: &mut usize) -> Result<Vec<ProducedBatch>, i16> {
    let corrupt = ResponseError::CorruptMessage.code();
    let counts = check_batches(&bytes)?;
    let mut out = Vec::new();
    for count in counts {
        // The codec's verdict, kept for the error code (the decoder's errors are text).
        let refused = Cell::new(None);
        let left = Cell::new(*allowance);
        let expand = |records: &mut Bytes, codec: Compression| -> anyhow::Result<Bytes> {
            if codec == Compression::None {
                return Ok(records.clone());
            }
            let expanded = match compression::expand(codec, records, left.get()) {
                Ok(e) => e,
                Err(e) => {
                    refused.set(Some(match e {
                        compression::Expand::TooLarge => ResponseError::MessageTooLarge.code(),
                        compression::Expand::Corrupt => corrupt,
                    }));
                    anyhow::bail!("cannot expand the batch");
                }
            };
            if count > expanded.len() / RECORD_BYTES_MIN {
                refused.set(Some(corrupt));
                anyhow::bail!("more records than the expanded bytes hold");
            }
            left.set(left.get() - expanded.len());
            Ok(Bytes::from(expanded))
        };
        let set = RecordBatchDecoder::decode_with_custom_compression(&mut bytes, Some(expand))
            .map_err(|_| refused.get().unwrap_or(corrupt))?;
        *allowance = left.get();
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

/// Walks the batches' headers; the record count of each.
fn check_batches(mut b: &[u8]) -> Result<Vec<usize>, i16> {
    let corrupt = ResponseError::CorruptMessage.code();
    if b.is_empty() {
        return Err(ResponseError::InvalidRecord.code());
    }
    let mut counts = Vec::new();
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
        let compressed = match attributes & COMPRESSION_MASK {
            0 => false,
            1..=4 => true, // gzip, snappy, lz4, zstd
            _ => return Err(ResponseError::UnsupportedCompressionType.code()),
        };
        if attributes & (TRANSACTIONAL_BIT | CONTROL_BIT) != 0 {
            return Err(ResponseError::InvalidRecord.code());
        }
        let count = i32::from_be_bytes(
            b[RECORD_COUNT_AT..RECORD_COUNT_AT + 4]
                .try_into()
                .unwrap_or_default(),
        );
        // A compressed batch's count is checked against its expanded bytes.
        let room = (total - BATCH_HEADER_BYTES) / RECORD_BYTES_MIN;
        let count = usize::try_from(count).map_err(|_| corrupt)?;
        if !compressed && count > room {
            return Err(corrupt);
        }
        counts.push(count);
        b = &b[total..];
    }
    Ok(counts)
}

/// A record's headers in the log's form (a null header value stays null).
pub fn headers_of(r: &WireRecord) -> Vec<Header> {
    r.headers
        .iter()
        .map(|(k, v)| Header {
            name: k.as_str().to_string(),
            value: v.clone(),
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
                headers.insert(name, hv.map(|hv| b.owned(hv)));
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
            value: Some(Bytes::from_static(b"x")),
        });
        r1.headers.push(Header {
            name: "n".into(),
            value: None,
        });
        let r2 = ProducerRecord::new(None, None).with_timestamp(2000);
        c.produce_batch("t", 0, vec![r1, r2], Acks::Leader).unwrap();
        // Asked from offset 1, inside the batch: the whole batch comes back, from offset 0.
        let first = c.fetch_batches("t", 0, 1, 10).unwrap()[0].base_offset();
        let batches = c.fetch_batches("t", 0, first, 10).unwrap();
        let mut out = BytesMut::new();
        encode_fetched(&batches, &mut out, 1 << 20).unwrap();
        let decoded = decode_produced(out.freeze(), &mut (1 << 20)).unwrap();
        assert_eq!(decoded.len(), 1);
        let rs = &decoded[0].records;
        assert_eq!(rs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(rs[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(rs[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(rs[0].timestamp, 1000);
        assert_eq!(
            headers_of(&rs[0]),
            vec![
                Header {
                    name: "h".into(),
                    value: Some(Bytes::from_static(b"x"))
                },
                Header {
                    name: "n".into(),
                    value: None
                }
            ]
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
            decode_produced(out.freeze(), &mut (1 << 20)).err(),
            Some(ResponseError::CorruptMessage.code())
        );
        let mut codec = BytesMut::new();
        encode_fetched(
            &c.fetch_batches("t", 0, 0, 10).unwrap(),
            &mut codec,
            1 << 20,
        )
        .unwrap();
        codec[ATTRIBUTES_AT + 1] |= 5; // no codec has the number 5
        assert_eq!(
            decode_produced(codec.freeze(), &mut (1 << 20)).err(),
            Some(ResponseError::UnsupportedCompressionType.code())
        );
    }

    /// A batch of `n` records compressed with `codec` by the protocol crate's encoder.
    fn compressed(codec: Compression, n: usize) -> Bytes {
        let records: Vec<WireRecord> = (0..n)
            .map(|i| WireRecord {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // (offset minus sequence constant: one batch)
                sequence: i as i32 - 1,
                timestamp: 1000 + i as i64,
                key: Some(Bytes::from(format!("k{}", i % 7))),
                value: Some(Bytes::from(format!("value number {i}"))),
                headers: IndexMap::new(),
            })
            .collect();
        let mut out = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: codec,
        };
        let compressor = |records: &mut BytesMut, out: &mut BytesMut, codec| {
            out.extend_from_slice(&compression::compress(codec, records));
            Ok(())
        };
        RecordBatchEncoder::encode_with_custom_compression(
            &mut out,
            records.iter(),
            &options,
            Some(compressor),
        )
        .unwrap();
        out.freeze()
    }

    #[test]
    fn batches_compressed_with_every_codec_are_expanded_within_the_allowance() {
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut allowance = 1 << 20;
            let decoded = decode_produced(compressed(codec, 500), &mut allowance).unwrap();
            assert_eq!(decoded.len(), 1, "{codec:?}");
            let records = &decoded[0].records;
            assert_eq!(records.len(), 500, "{codec:?}");
            assert_eq!(
                records[499].value.as_deref(),
                Some(&b"value number 499"[..])
            );
            assert_eq!(records[12].key.as_deref(), Some(&b"k5"[..]));
            assert!(allowance < 1 << 20, "{codec:?}: the expansion is counted");
            // An allowance smaller than the expanded records: refused, nothing decoded.
            assert_eq!(
                decode_produced(compressed(codec, 500), &mut 1000).err(),
                Some(ResponseError::MessageTooLarge.code()),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn a_compressed_batch_claiming_more_records_than_it_expands_to_is_corrupt() {
        let mut batch = BytesMut::from(&compressed(Compression::Zstd, 3)[..]);
        batch[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        // (the CRC covers the count: fix it so only the count is wrong)
        let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            decode_produced(batch.freeze(), &mut (1 << 20)).err(),
            Some(ResponseError::CorruptMessage.code())
        );
    }
}
