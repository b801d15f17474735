//! The cleaner: retention by time and size deletes whole closed segments (moving the log
//! start offset); compaction rewrites closed segments keeping the latest record per key
//! and dropping tombstones older than `delete_retention_ms`. Only segments wholly below
//! the high watermark are touched, so nothing a consumer could not yet read is removed.

use std::collections::HashMap;

use bytes::Bytes;

use crate::batch;
use crate::error::LogError;
use crate::log::PartitionLog;
use crate::record::Record;
use crate::segment::Segment;
use crate::settings::{CleanupPolicy, TopicConfig};

/// What one cleaner pass did to a log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanReport {
    pub segments_deleted: usize,
    pub records_compacted_away: usize,
}

impl std::ops::AddAssign for CleanReport {
    fn add_assign(&mut self, o: CleanReport) {
        self.segments_deleted += o.segments_deleted;
        self.records_compacted_away += o.records_compacted_away;
    }
}

/// Runs the cleanup `config` asks for on `log`, touching only segments below `hw`.
pub fn clean(
    log: &mut PartitionLog,
    config: &TopicConfig,
    hw: u64,
    now_ms: i64,
) -> Result<CleanReport, LogError> {
    let mut report = CleanReport::default();
    if matches!(
        config.cleanup_policy,
        CleanupPolicy::Compact | CleanupPolicy::CompactDelete
    ) {
        report.records_compacted_away = compact(log, config.delete_retention_ms, hw, now_ms)?;
    }
    if matches!(
        config.cleanup_policy,
        CleanupPolicy::Delete | CleanupPolicy::CompactDelete
    ) {
        report.segments_deleted =
            delete_old_segments(log, config.retention_ms, config.retention_bytes, hw, now_ms)?;
    }
    Ok(report)
}

/// Deletes closed segments from the oldest on while one is expired by time or the log is
/// over `retention_bytes`. The active segment is never deleted.
pub fn delete_old_segments(
    log: &mut PartitionLog,
    retention_ms: Option<i64>,
    retention_bytes: Option<u64>,
    hw: u64,
    now_ms: i64,
) -> Result<usize, LogError> {
    let mut deleted = 0;
    let mut size = log.size_bytes();
    while log.segments.len() > 1 {
        let s = &log.segments[0];
        if s.next_offset() > hw {
            break;
        }
        let expired = match (retention_ms, s.max_timestamp()) {
            (Some(r), Some(ts)) => ts.saturating_add(r) < now_ms,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let too_big = retention_bytes.is_some_and(|max| size > max);
        if !(expired || too_big) {
            break;
        }
        let mut s = log.segments.remove(0);
        size -= s.size_bytes();
        s.delete_files()?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Compacts the closed segments below `hw`: a keyed record stays only if it is the latest
/// for its key in the whole log; a tombstone that is the latest stays until it is older
/// than `delete_retention_ms`. Records without a key are kept. Returns how many records
/// were removed.
pub fn compact(
    log: &mut PartitionLog,
    delete_retention_ms: i64,
    hw: u64,
    now_ms: i64,
) -> Result<usize, LogError> {
    let closed = log.segments.len() - 1;
    let n_clean = log.segments[..closed]
        .iter()
        .take_while(|s| s.next_offset() <= hw)
        .count();
    if n_clean == 0 {
        return Ok(0);
    }
    // The latest offset of each key in the whole log.
    let mut latest: HashMap<Bytes, u64> = HashMap::new();
    for r in log.read(log.log_start_offset(), log.log_end_offset(), usize::MAX)? {
        if let Some(k) = r.key {
            latest.insert(k, r.offset);
        }
    }
    let mut removed = 0;
    for i in 0..n_clean {
        let seg = &log.segments[i];
        let mut batches: Vec<Bytes> = Vec::new();
        let mut dropped = 0;
        for b in seg.read_batches(seg.base_offset(), usize::MAX, usize::MAX)? {
            let h = batch::check(&b).map_err(LogError::Corrupt)?;
            let kept: Vec<Record> = batch::decode(&b)?
                .into_iter()
                .filter(|r| keep(r, &latest, delete_retention_ms, now_ms))
                .collect();
            dropped += h.record_count as usize - kept.len();
            if !kept.is_empty() {
                batches.push(batch::encode(&kept, h.leader_epoch));
            }
        }
        if dropped == 0 {
            continue;
        }
        removed += dropped;
        let rewritten = rewrite_segment(log, i, &batches, now_ms)?;
        log.segments[i] = rewritten;
    }
    Ok(removed)
}

fn keep(r: &Record, latest: &HashMap<Bytes, u64>, delete_retention_ms: i64, now_ms: i64) -> bool {
    let Some(k) = &r.key else { return true };
    if latest.get(k) != Some(&r.offset) {
        return false;
    }
    r.value.is_some() || r.timestamp_ms.saturating_add(delete_retention_ms) > now_ms
}

/// A segment with the same base offset holding `batches`, replacing segment `i`'s files.
/// The new files are written aside and renamed over the old ones, the log file last: a
/// crash in between leaves indexes that disagree with the log, which open rebuilds.
fn rewrite_segment(
    log: &mut PartitionLog,
    i: usize,
    batches: &[Bytes],
    now_ms: i64,
) -> Result<Segment, LogError> {
    let base = log.segments[i].base_offset();
    let Some(dir) = log.dir().map(|d| d.to_path_buf()) else {
        let mut s = Segment::in_memory(base, now_ms);
        for b in batches {
            s.append(b, &batch::check(b).map_err(LogError::Corrupt)?)?;
        }
        return Ok(s);
    };
    let aside = dir.join(".cleaning");
    std::fs::create_dir_all(&aside)?;
    {
        let mut s = Segment::create(&aside, base, now_ms)?;
        for b in batches {
            s.append(b, &batch::check(b).map_err(LogError::Corrupt)?)?;
        }
        s.flush(true)?;
    }
    let stem = crate::segment::file_stem(base);
    for ext in ["index", "timeindex", "log"] {
        let name = format!("{stem}.{ext}");
        std::fs::rename(aside.join(&name), dir.join(&name))?;
    }
    std::fs::remove_dir(&aside)?;
    let next_base = log.segments.get(i + 1).map(|s| s.base_offset());
    let (s, _) = Segment::open(&dir, base, next_base.is_none(), next_base, now_ms)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ProducerRecord;
    use crate::settings::Settings;

    fn kv(k: &str, v: Option<&str>, ts: i64) -> ProducerRecord {
        ProducerRecord::new(
            Some(Bytes::from(k.to_string())),
            v.map(|v| Bytes::from(v.to_string())),
        )
        .with_timestamp(ts)
    }

    fn tiny() -> Settings {
        Settings {
            segment_bytes: 150,
            ..Settings::default()
        }
    }

    #[test]
    fn time_and_size_retention_delete_whole_closed_segments() {
        let mut log = PartitionLog::in_memory(tiny(), 0, 0);
        for i in 0..30 {
            log.append_records(vec![kv("k", Some("v"), i * 1000)], 0, 0)
                .unwrap();
        }
        let segs = log.segment_count();
        assert!(segs > 3);
        // Nothing is older than 1000 s at t=20 s.
        assert_eq!(
            delete_old_segments(&mut log, Some(1_000_000), None, 30, 20_000).unwrap(),
            0
        );
        let n = delete_old_segments(&mut log, Some(10_000), None, 30, 30_000).unwrap();
        assert!(n > 0);
        let start = log.log_start_offset();
        assert!(start > 0 && start <= 20);
        // Records older than the cut are gone, the rest read as before.
        let first = log.read(0, 30, 1).unwrap()[0].clone();
        assert_eq!(first.offset, start);
        delete_old_segments(&mut log, None, Some(0), 30, 0).unwrap();
        assert_eq!(
            log.segment_count(),
            1,
            "the active segment is never deleted"
        );
    }

    #[test]
    fn compact_delete_compacts_then_applies_retention() {
        let mut log = PartitionLog::in_memory(tiny(), 0, 0);
        for i in 0..30 {
            let k = format!("k{}", i % 2);
            log.append_records(vec![kv(&k, Some("v"), i)], 0, 0)
                .unwrap();
        }
        let config = TopicConfig {
            cleanup_policy: CleanupPolicy::CompactDelete,
            retention_ms: Some(10),
            ..TopicConfig::default()
        };
        let r = clean(&mut log, &config, 30, 100).unwrap();
        assert!(r.records_compacted_away > 0 && r.segments_deleted > 0);
        assert!(log.log_start_offset() > 0);
    }

    #[test]
    fn compaction_keeps_the_latest_per_key_and_drops_old_tombstones() {
        let d = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(d.path(), tiny(), 0, 0).unwrap();
        for i in 0..20 {
            let k = format!("k{}", i % 3);
            let v = format!("v{i}");
            log.append_records(vec![kv(&k, Some(&v), i)], 0, 0).unwrap();
        }
        log.append_records(vec![kv("k0", None, 100)], 0, 0).unwrap();
        for i in 0..10 {
            log.append_records(vec![kv("z", Some("pad"), 200 + i)], 0, 0)
                .unwrap();
        }
        let end = log.log_end_offset();
        let removed = compact(&mut log, 1000, end, 500).unwrap();
        assert!(removed > 0);
        let all = log.read(0, end, usize::MAX).unwrap();
        let offsets: Vec<u64> = all.iter().map(|r| r.offset).collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]));
        let of = |k: &str| {
            all.iter()
                .filter(|r| r.key.as_deref() == Some(k.as_bytes()))
                .count()
        };
        assert_eq!((of("k1"), of("k2")), (1, 1));
        assert_eq!(of("k0"), 1, "a young tombstone stays");
        // Later, the tombstone is removed; reopening reads the compacted log.
        compact(&mut log, 1000, end, 5000).unwrap();
        drop(log);
        let log = PartitionLog::open(d.path(), tiny(), 0, 0).unwrap();
        let all = log.read(0, end, usize::MAX).unwrap();
        assert!(all.iter().all(|r| r.key.as_deref() != Some(&b"k0"[..])));
        assert_eq!(log.log_end_offset(), end);
    }
}
