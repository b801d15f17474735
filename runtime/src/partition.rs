//! One partition of a topic: an append-only sequence of records with dense offsets.
//! This first cut keeps records in memory.

use crate::record::{ProducerRecord, Record};

#[derive(Debug, Default)]
pub struct Partition {
    log_start_offset: u64,
    records: Vec<Record>,
    size_bytes: u64,
}

impl Partition {
    /// The offset the next appended record will get.
    pub fn log_end_offset(&self) -> u64 {
        self.log_start_offset + self.records.len() as u64
    }

    pub fn log_start_offset(&self) -> u64 {
        self.log_start_offset
    }

    /// In this single-replica first cut every appended record is committed.
    pub fn high_watermark(&self) -> u64 {
        self.log_end_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Appends records in order and returns the offset of the first.
    pub fn append(
        &mut self,
        records: impl IntoIterator<Item = ProducerRecord>,
        now_ms: i64,
    ) -> u64 {
        let first = self.log_end_offset();
        for r in records {
            let offset = self.log_end_offset();
            self.size_bytes += record_size(&r);
            self.records.push(Record {
                offset,
                timestamp_ms: r.timestamp_ms.unwrap_or(now_ms),
                key: r.key,
                value: r.value,
                headers: r.headers,
            });
        }
        first
    }

    /// Up to `max_records` records from `offset`, never past the high watermark.
    pub fn read(&self, offset: u64, max_records: usize) -> &[Record] {
        let hw = self.high_watermark();
        if offset >= hw || offset < self.log_start_offset {
            return &[];
        }
        let start = (offset - self.log_start_offset) as usize;
        let end = ((hw - self.log_start_offset) as usize).min(start.saturating_add(max_records));
        &self.records[start..end]
    }
}

fn record_size(r: &ProducerRecord) -> u64 {
    let k = r.key.as_ref().map_or(0, |k| k.len());
    let v = r.value.as_ref().map_or(0, |v| v.len());
    let h: usize = r.headers.iter().map(|h| h.name.len() + h.value.len()).sum();
    (k + v + h + 8) as u64
}
