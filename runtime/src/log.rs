//! A partition replica's log: segments in offset order, the last one active. Appends go
//! to the active segment (rolling it by size and age), reads walk the segments, and the
//! cleaner (`retention.rs`) deletes or compacts closed segments.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::batch::{self, BatchHeader, RecordRef};
use crate::damage::{Damage, DamageAction};
use crate::error::LogError;
use crate::limits::{BATCH_BYTES_MAX, BATCH_RECORDS_MAX, FETCH_READ_BYTES_MAX, RECORD_BYTES_MAX};
use crate::record::{ProducerRecord, ProducerRef, Record};
use crate::segment::{file_stem, Segment};
use crate::settings::{FsyncPolicy, Settings};
use crate::spill::{Spill, SpillFile};
use crate::view::RecordBatch;

pub struct PartitionLog {
    dir: Option<PathBuf>,
    /// Never empty; the last is the active segment.
    pub(crate) segments: Vec<Segment>,
    pub(crate) settings: Settings,
    last_sync_ms: i64,
    /// Bytes recovery cut off the last segment when this log was opened.
    pub recovered_bytes_cut: u64,
    /// What opening the log found damaged (the cluster takes these to report them).
    pub damage: Vec<Damage>,
    /// An in-memory log that spills its older batches (`spill.rs`).
    spill: Option<Spiller>,
}

struct Spiller {
    config: Spill,
    /// Created at the first spill: a partition that stays small never has one.
    file: Option<Arc<SpillFile>>,
}

impl PartitionLog {
    pub fn in_memory(settings: Settings, base_offset: u64, now_ms: i64) -> PartitionLog {
        PartitionLog {
            dir: None,
            segments: vec![Segment::in_memory(base_offset, now_ms)],
            settings,
            last_sync_ms: now_ms,
            recovered_bytes_cut: 0,
            damage: Vec::new(),
            spill: None,
        }
    }

    /// An in-memory log that keeps `spill.keep_bytes` of its newest batches in memory and
    /// writes the older ones to a spill file.
    pub fn in_memory_spilling(
        settings: Settings,
        base_offset: u64,
        now_ms: i64,
        spill: Spill,
    ) -> PartitionLog {
        let mut log = PartitionLog::in_memory(settings, base_offset, now_ms);
        log.spill = Some(Spiller {
            config: spill,
            file: None,
        });
        log
    }

    /// Bytes of batches this log holds in memory (for a log in files, none).
    pub fn bytes_in_memory(&self) -> u64 {
        self.segments.iter().map(Segment::ram_bytes).sum()
    }

    /// Spills the oldest batches in memory while more than `keep_bytes` are. The bytes in
    /// memory are counted from the segments each time (a sum over a few segments), so
    /// retention, compaction and truncation need not keep a count up to date.
    fn spill_excess(&mut self) -> Result<(), LogError> {
        if self.spill.is_none() {
            return Ok(());
        }
        let mut ram = self.bytes_in_memory();
        let Some(sp) = &mut self.spill else {
            return Ok(());
        };
        let mut seg = 0;
        while ram > sp.config.keep_bytes && seg < self.segments.len() {
            let file = match &sp.file {
                Some(f) => f.clone(),
                None => {
                    let buffer_bytes = sp.config.write_buffer_bytes();
                    let file = SpillFile::create(&sp.config.dir, buffer_bytes)?;
                    sp.file.insert(file).clone()
                }
            };
            match self.segments[seg].spill_oldest(&file)? {
                0 => seg += 1,
                n => ram -= n,
            }
        }
        Ok(())
    }

    /// Opens the log in `dir` (creating it, empty from `base_offset`, if it has no
    /// segment). Every segment is checked (`Segment::open`); what was found damaged is in
    /// `damage`, and only a torn tail of the last segment is cut.
    pub fn open(
        dir: &Path,
        settings: Settings,
        base_offset: u64,
        now_ms: i64,
    ) -> Result<PartitionLog, LogError> {
        std::fs::create_dir_all(dir)?;
        let mut bases = segment_bases(dir)?;
        bases.sort_unstable();
        bases.dedup();
        let mut segments = Vec::with_capacity(bases.len().max(1));
        let mut damage = Vec::new();
        for (i, &b) in bases.iter().enumerate() {
            let next_base = bases.get(i + 1).copied();
            let (seg, d) = Segment::open(dir, b, next_base.is_none(), next_base, now_ms)?;
            damage.extend(d);
            segments.push(seg);
        }
        let cut = damage
            .iter()
            .filter(|d| d.action == DamageAction::CutTornTail)
            .map(|d| d.byte_len)
            .sum();
        if segments.is_empty() {
            segments.push(Segment::create(dir, base_offset, now_ms)?);
            if settings.fsync != FsyncPolicy::Never {
                // The new directory and its first files must survive a power loss too.
                sync_dir(dir)?;
                if let Some(parent) = dir.parent() {
                    sync_dir(parent)?;
                }
            }
        }
        let log = PartitionLog {
            dir: Some(dir.to_path_buf()),
            segments,
            settings,
            last_sync_ms: now_ms,
            recovered_bytes_cut: cut,
            damage,
            spill: None,
        };
        log.check_sequence()?;
        Ok(log)
    }

    /// Segments follow each other (the scan bounds each sealed segment by the next one's
    /// base offset, so this holds for any file content; checked rather than assumed).
    fn check_sequence(&self) -> Result<(), LogError> {
        for w in self.segments.windows(2) {
            if w[0].base_offset() >= w[1].base_offset() || w[0].next_offset() > w[1].base_offset() {
                return Err(LogError::Corrupt(format!(
                    "{}: segment {} ends at offset {}, after the next segment's base offset {}",
                    self.name(),
                    file_stem(w[0].base_offset()),
                    w[0].next_offset(),
                    w[1].base_offset()
                )));
            }
        }
        Ok(())
    }

    /// How errors name this log: its directory (`broker-N/topic-partition`), or "memory".
    pub fn name(&self) -> String {
        match &self.dir {
            Some(d) => {
                let part = d.file_name().map(|n| n.to_string_lossy().into_owned());
                let broker = d
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned());
                match (broker, part) {
                    (Some(b), Some(p)) => format!("{b}/{p}"),
                    _ => d.display().to_string(),
                }
            }
            None => "in-memory log".to_string(),
        }
    }

    /// A corruption found reading the batch that starts at `base`, located: the log, the
    /// segment file and the byte position.
    pub(crate) fn locate(&self, base: u64, e: LogError) -> LogError {
        let LogError::Corrupt(msg) = e else { return e };
        let (s, j) = self.batch_index(base);
        let at = match (s.file(), s.locs().get(j)) {
            (Some(f), Some(loc)) => format!(
                ", {} byte {}",
                f.file_name().unwrap_or_default().to_string_lossy(),
                loc.pos
            ),
            _ => String::new(),
        };
        LogError::Corrupt(format!("{}{at}: {msg}", self.name()))
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn log_start_offset(&self) -> u64 {
        self.segments[0].base_offset()
    }

    pub fn log_end_offset(&self) -> u64 {
        self.active().next_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size_bytes()).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn active(&self) -> &Segment {
        self.segments.last().expect("a log has a segment")
    }

    /// Assigns offsets from the log end and appends `records` as one or more batches.
    /// Returns the first offset and the encoded batches (what followers copy).
    pub fn append_records(
        &mut self,
        records: Vec<ProducerRecord>,
        leader_epoch: u32,
        now_ms: i64,
    ) -> Result<(u64, Vec<Bytes>), LogError> {
        let refs: Vec<ProducerRef> = records.iter().map(ProducerRef::from).collect();
        self.append_refs(&refs, leader_epoch, now_ms)
    }

    /// `append_records` of borrowed records.
    pub fn append_refs(
        &mut self,
        records: &[ProducerRef],
        leader_epoch: u32,
        now_ms: i64,
    ) -> Result<(u64, Vec<Bytes>), LogError> {
        let first = self.log_end_offset();
        let refs: Vec<RecordRef> = records
            .iter()
            .enumerate()
            .map(|(i, r)| RecordRef {
                offset: first + i as u64,
                timestamp_ms: r.timestamp_ms.unwrap_or(now_ms),
                key: r.key,
                value: r.value,
                headers: r.headers,
            })
            .collect();
        // Size everything before appending anything: a too-large record fails the call
        // without a partial append.
        let sizes: Vec<usize> = refs.iter().map(batch::ref_bytes).collect();
        if let Some(&n) = sizes.iter().find(|&&n| n > RECORD_BYTES_MAX) {
            return Err(LogError::RecordTooLarge {
                bytes: n,
                max: RECORD_BYTES_MAX,
            });
        }
        let mut batches = Vec::new();
        let mut start = 0;
        let mut bytes = batch::HEADER_BYTES;
        for (i, &n) in sizes.iter().enumerate() {
            if i > start && (bytes + n > BATCH_BYTES_MAX || i - start >= BATCH_RECORDS_MAX) {
                batches.push(batch::encode_refs(&refs[start..i], leader_epoch));
                start = i;
                bytes = batch::HEADER_BYTES;
            }
            bytes += n;
        }
        if start < refs.len() {
            batches.push(batch::encode_refs(&refs[start..], leader_epoch));
        }
        for b in &batches {
            // Just encoded (and checked in debug builds): the CRC is checked again where
            // the batch is read or copied by a follower.
            let h = batch::parse_header(b).map_err(LogError::Corrupt)?;
            self.append_checked(b, h, now_ms)?;
        }
        Ok((first, batches))
    }

    /// Appends one encoded batch (a follower copying its leader). Its CRC is checked and
    /// its base offset must be at or after the log end.
    pub fn append_batch(&mut self, b: &Bytes, now_ms: i64) -> Result<BatchHeader, LogError> {
        let h = batch::check(b).map_err(LogError::Corrupt)?;
        if h.total_bytes != b.len() {
            return Err(LogError::Corrupt(
                "batch length disagrees with buffer".into(),
            ));
        }
        self.append_checked(b, h, now_ms)
    }

    fn append_checked(
        &mut self,
        b: &Bytes,
        h: BatchHeader,
        now_ms: i64,
    ) -> Result<BatchHeader, LogError> {
        if h.base_offset < self.log_end_offset() {
            return Err(LogError::Corrupt(format!(
                "batch at offset {} is below the log end {}",
                h.base_offset,
                self.log_end_offset()
            )));
        }
        self.maybe_roll(b.len() as u64, h.base_offset, now_ms)?;
        let seg = self.segments.last_mut().expect("a log has a segment");
        seg.append(b, &h)?;
        match self.settings.fsync {
            FsyncPolicy::Always => seg.sync_log()?,
            FsyncPolicy::EveryMs(ms) if now_ms - self.last_sync_ms >= ms as i64 => {
                seg.flush(true)?;
                self.last_sync_ms = now_ms;
            }
            _ => {}
        }
        self.spill_excess()?;
        Ok(h)
    }

    fn maybe_roll(&mut self, incoming: u64, base_offset: u64, now_ms: i64) -> Result<(), LogError> {
        let active = self.active();
        if active.is_empty() {
            return Ok(());
        }
        let full = active.size_bytes() + incoming > self.settings.segment_bytes_clamped();
        let old = now_ms - active.created_ms() >= self.settings.segment_ms;
        if full || old {
            self.roll(base_offset, now_ms)?;
        }
        Ok(())
    }

    /// Closes the active segment and starts a new one at `base_offset`.
    fn roll(&mut self, base_offset: u64, now_ms: i64) -> Result<(), LogError> {
        let fsync = self.settings.fsync != FsyncPolicy::Never;
        self.segments
            .last_mut()
            .expect("a log has a segment")
            .flush(fsync)?;
        let seg = match &self.dir {
            Some(d) => {
                let seg = Segment::create(d, base_offset, now_ms)?;
                if fsync {
                    // fdatasync of a file does not persist its directory entry.
                    sync_dir(d)?;
                }
                seg
            }
            None => Segment::in_memory(base_offset, now_ms),
        };
        self.segments.push(seg);
        Ok(())
    }

    /// Writes pending index entries and fsyncs (unless the policy is `Never`).
    pub fn flush(&mut self, now_ms: i64) -> Result<(), LogError> {
        let fsync = self.settings.fsync != FsyncPolicy::Never;
        for s in &mut self.segments {
            s.flush(fsync)?;
        }
        self.last_sync_ms = now_ms;
        Ok(())
    }

    /// Records with offsets in `[from, to)`, at most `max` of them. Below the log start
    /// reads nothing (the caller reports out of range).
    pub fn read(&self, from: u64, to: u64, max: usize) -> Result<Vec<Record>, LogError> {
        let mut out = Vec::with_capacity(max.min(to.saturating_sub(from) as usize).min(4096));
        let mut at = from.max(self.log_start_offset());
        while out.len() < max && at < to {
            let batches = self.read_batches(at, FETCH_READ_BYTES_MAX, max - out.len())?;
            if batches.is_empty() {
                break;
            }
            for b in &batches {
                let base = batch::parse_header(b).map_or(at, |h| h.base_offset);
                let h = batch::decode_into(b, at, to, max, &mut out)
                    .map_err(|e| self.locate(base, e))?;
                at = at.max(h.next_offset());
                if out.len() >= max || at >= to {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Checked batch views covering offsets `[from, to)`, whole batches until they hold
    /// about `max_records` (at least one batch when there is a record in range).
    pub fn read_views(
        &self,
        from: u64,
        to: u64,
        max_records: usize,
    ) -> Result<Vec<RecordBatch>, LogError> {
        let mut out = Vec::new();
        let mut at = from.max(self.log_start_offset());
        let mut records = 0usize;
        while records < max_records && at < to {
            let (batches, in_memory) =
                self.read_batches_from(at, FETCH_READ_BYTES_MAX, max_records - records)?;
            if batches.is_empty() {
                break;
            }
            for b in batches {
                // A batch of an in-memory segment is the very buffer whose CRC this process
                // computed (or checked, for a follower's copy) before appending it: checking
                // it again on every read cannot find anything (see docs/runtime.md).
                let base = batch::parse_header(&b).map_or(at, |h| h.base_offset);
                let v = if in_memory {
                    RecordBatch::trusted(b, from, to)
                } else {
                    RecordBatch::new(b, from, to)
                }
                .map_err(|e| self.locate(base, e))?;
                let (lo, hi) = (v.base_offset().max(at), v.next_offset().min(to));
                if lo >= to {
                    return Ok(out);
                }
                records += hi.saturating_sub(lo) as usize;
                at = v.next_offset();
                out.push(v);
                if records >= max_records || at >= to {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Encoded batches from the one holding `from` on (about `max_bytes`, at least one
    /// batch if there is any at or after `from`).
    pub fn read_batches(
        &self,
        from: u64,
        max_bytes: usize,
        max_records: usize,
    ) -> Result<Vec<Bytes>, LogError> {
        Ok(self.read_batches_from(from, max_bytes, max_records)?.0)
    }

    /// `read_batches`, and whether they come from an in-memory segment.
    fn read_batches_from(
        &self,
        from: u64,
        max_bytes: usize,
        max_records: usize,
    ) -> Result<(Vec<Bytes>, bool), LogError> {
        let i = self
            .segments
            .partition_point(|s| s.base_offset() <= from)
            .saturating_sub(1);
        for s in &self.segments[i..] {
            let (v, in_memory) = s.read_batches_held(from, max_bytes, max_records)?;
            if !v.is_empty() {
                return Ok((v, in_memory));
            }
        }
        Ok((Vec::new(), false))
    }

    /// The first offset whose record timestamp is at or after `ts` (Kafka's
    /// `offsetsForTimes`), searched with the per-batch max timestamps of the time index;
    /// None when every record is older.
    pub fn offset_for_timestamp(&self, ts: i64, to: u64) -> Result<Option<u64>, LogError> {
        for s in &self.segments {
            for loc in s.locs() {
                if loc.max_timestamp < ts || loc.base_offset >= to {
                    continue;
                }
                let recs = self.read(loc.base_offset, loc.next_offset.min(to), usize::MAX)?;
                if let Some(r) = recs.iter().find(|r| r.timestamp_ms >= ts) {
                    return Ok(Some(r.offset));
                }
            }
        }
        Ok(None)
    }

    /// The segment that would hold a batch starting at `base`, and the index in it of the
    /// first batch starting at or after `base`.
    fn batch_index(&self, base: u64) -> (&Segment, usize) {
        let i = self
            .segments
            .partition_point(|s| s.base_offset() <= base)
            .saturating_sub(1);
        let s = &self.segments[i];
        (s, s.locs().partition_point(|b| b.base_offset < base))
    }

    /// The header of the batch whose base offset is exactly `base`, if there is one.
    pub fn batch_at(&self, base: u64) -> Result<Option<BatchHeader>, LogError> {
        let (s, j) = self.batch_index(base);
        if j < s.locs().len() && s.locs()[j].base_offset == base {
            return s.header(j).map(Some);
        }
        Ok(None)
    }

    /// Walks this log's batches from the newest back and returns the end (next offset) of
    /// the newest one that `other` holds too, byte for byte (same base offset and CRC):
    /// where a follower's log stops agreeing with its leader's. None if no batch agrees.
    pub fn last_common_end(&self, other: &PartitionLog) -> Result<Option<u64>, LogError> {
        for s in self.segments.iter().rev() {
            for j in (0..s.locs().len()).rev() {
                let h = s.header(j)?;
                if h.next_offset() <= other.log_start_offset() {
                    return Ok(None);
                }
                if let Some(oh) = other.batch_at(h.base_offset)? {
                    if oh.crc == h.crc {
                        return Ok(Some(h.next_offset()));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Drops every batch whose base offset is `offset` or more (whole batches: a batch that
    /// straddles `offset` stays).
    pub fn truncate_from(&mut self, offset: u64) -> Result<(), LogError> {
        while self.segments.len() > 1 && self.active().base_offset() >= offset {
            let mut s = self.segments.pop().expect("more than one segment");
            s.delete_files()?;
        }
        let s = self.segments.last_mut().expect("a log has a segment");
        let j = s.locs().partition_point(|b| b.base_offset < offset);
        s.truncate_batches(j)?;
        Ok(())
    }

    /// Empties the log and starts it again at `base_offset` (a replica too far behind its
    /// leader, whose log start moved past this replica's end).
    pub fn reset(&mut self, base_offset: u64, now_ms: i64) -> Result<(), LogError> {
        for s in &mut self.segments {
            s.delete_files()?;
        }
        self.segments.clear();
        self.segments.push(match &self.dir {
            Some(d) => Segment::create(d, base_offset, now_ms)?,
            None => Segment::in_memory(base_offset, now_ms),
        });
        Ok(())
    }

    /// Deletes the log's files and directory.
    pub fn delete(mut self) -> Result<(), LogError> {
        for s in &mut self.segments {
            s.delete_files()?;
        }
        if let Some(d) = self.dir.take() {
            match std::fs::remove_dir_all(&d) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }
}

impl Drop for PartitionLog {
    fn drop(&mut self) {
        // The spill file goes with the log (its segments drop after this).
        if let Some(file) = self.spill.as_ref().and_then(|s| s.file.as_ref()) {
            file.close_with_log();
        }
        // A clean close: index entries out, and (unless the policy is `Never`) the tail of
        // an `EveryMs` log synced. Index entries are rebuildable, so a failure here loses
        // nothing that recovery cannot restore.
        let fsync = self.settings.fsync != FsyncPolicy::Never;
        if let Some(s) = self.segments.last_mut() {
            let _ = s.flush(fsync);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn segment_bases(dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".log") {
            if stem.len() == 20 {
                if let Ok(b) = stem.parse::<u64>() {
                    out.push(b);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(v: &str) -> ProducerRecord {
        ProducerRecord::new(
            Some(Bytes::from(v.to_string())),
            Some(Bytes::from(v.to_string())),
        )
    }

    fn small() -> Settings {
        Settings {
            segment_bytes: 200,
            ..Settings::default()
        }
    }

    #[test]
    fn rolls_and_reads_across_segments_on_disk_and_after_reopen() {
        let d = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        for i in 0..20 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        assert!(log.segment_count() > 2);
        let got = log.read(0, 20, 100).unwrap();
        assert_eq!(got.len(), 20);
        drop(log);
        let log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        assert_eq!(log.log_end_offset(), 20);
        let got = log.read(5, 20, 3).unwrap();
        assert_eq!(
            got.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![5, 6, 7]
        );
        assert_eq!(got[0].value.as_deref(), Some(&b"r5"[..]));
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_broken_index_rebuilt() {
        let d = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(d.path(), Settings::default(), 0, 0).unwrap();
        for i in 0..5 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        drop(log);
        let p = d
            .path()
            .join(format!("{}.log", crate::segment::file_stem(0)));
        let len = std::fs::metadata(&p).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(len - 3).unwrap();
        let ip = d
            .path()
            .join(format!("{}.index", crate::segment::file_stem(0)));
        std::fs::write(&ip, b"garbage").unwrap();
        let log = PartitionLog::open(d.path(), Settings::default(), 0, 0).unwrap();
        assert_eq!(log.log_end_offset(), 4);
        assert!(log.recovered_bytes_cut > 0);
        assert_eq!(std::fs::metadata(&ip).unwrap().len(), 4 * 8);
        assert_eq!(log.read(0, 10, 10).unwrap().len(), 4);
    }

    #[test]
    fn a_sealed_segment_with_a_bad_index_is_rebuilt_on_open() {
        let d = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        for i in 0..20 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        assert!(log.segment_count() > 2);
        drop(log);
        let ip = d
            .path()
            .join(format!("{}.index", crate::segment::file_stem(0)));
        let good = std::fs::read(&ip).unwrap();
        let mut bad = good.clone();
        bad[7] ^= 0x40; // a wrong position
        std::fs::write(&ip, &bad).unwrap();
        let log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        assert_eq!(std::fs::read(&ip).unwrap(), good);
        assert_eq!(log.read(0, 20, 100).unwrap().len(), 20);
    }

    #[test]
    fn offset_for_timestamp_finds_the_first_record_at_or_after() {
        let mut log = PartitionLog::in_memory(small(), 0, 0);
        for ts in [10, 30, 20, 40, 50] {
            log.append_records(vec![pr("x").with_timestamp(ts)], 0, 0)
                .unwrap();
        }
        assert_eq!(log.offset_for_timestamp(0, 5).unwrap(), Some(0));
        assert_eq!(log.offset_for_timestamp(25, 5).unwrap(), Some(1));
        assert_eq!(log.offset_for_timestamp(41, 5).unwrap(), Some(4));
        assert_eq!(log.offset_for_timestamp(41, 4).unwrap(), None);
        assert_eq!(log.offset_for_timestamp(99, 5).unwrap(), None);
    }

    #[test]
    fn a_sealed_index_missing_an_entry_is_rebuilt() {
        let d = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(d.path(), Settings::default(), 0, 0).unwrap();
        for i in 0..6 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        log.roll(6, 0).unwrap();
        log.append_records(vec![pr("r6")], 0, 0).unwrap();
        drop(log);
        let stem = crate::segment::file_stem(0);
        let ip = d.path().join(format!("{stem}.index"));
        let tp = d.path().join(format!("{stem}.timeindex"));
        // Drop the second batch's entries: still increasing, but a batch is skipped.
        let mut idx = std::fs::read(&ip).unwrap();
        idx.drain(8..16);
        std::fs::write(&ip, &idx).unwrap();
        let mut tidx = std::fs::read(&tp).unwrap();
        tidx.drain(12..24);
        std::fs::write(&tp, &tidx).unwrap();
        let log = PartitionLog::open(d.path(), Settings::default(), 0, 0).unwrap();
        assert_eq!(std::fs::metadata(&ip).unwrap().len(), 6 * 8);
        let got: Vec<u64> = log
            .read(0, 7, 100)
            .unwrap()
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(got, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn segments_roll_by_age() {
        let settings = Settings {
            segment_ms: 1000,
            ..Settings::default()
        };
        let mut log = PartitionLog::in_memory(settings, 0, 0);
        log.append_records(vec![pr("a")], 0, 0).unwrap();
        log.append_records(vec![pr("b")], 0, 999).unwrap();
        assert_eq!(log.segment_count(), 1);
        log.append_records(vec![pr("c")], 0, 1000).unwrap();
        assert_eq!(log.segment_count(), 2);
        assert_eq!(log.read(0, 3, 10).unwrap().len(), 3);
    }

    #[test]
    fn a_record_over_the_limit_is_an_error_and_appends_nothing() {
        let mut log = PartitionLog::in_memory(Settings::default(), 0, 0);
        let big = Bytes::from(vec![0u8; crate::limits::RECORD_BYTES_MAX + 1]);
        let e = log
            .append_records(vec![pr("ok"), ProducerRecord::new(None, Some(big))], 0, 0)
            .unwrap_err();
        assert!(matches!(e, LogError::RecordTooLarge { .. }));
        assert_eq!(log.log_end_offset(), 0);
    }

    #[test]
    fn truncate_from_drops_whole_batches_and_segments() {
        let mut log = PartitionLog::in_memory(small(), 0, 0);
        for i in 0..20 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        log.truncate_from(7).unwrap();
        assert_eq!(log.log_end_offset(), 7);
        log.append_records(vec![pr("x")], 1, 0).unwrap();
        assert_eq!(log.read(6, 100, 100).unwrap().len(), 2);
    }

    /// A log of 20 one-record batches over several segments, closed; the path of its
    /// first segment's log file.
    fn written(d: &Path) -> PathBuf {
        let mut log = PartitionLog::open(d, small(), 0, 0).unwrap();
        for i in 0..20 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        assert!(log.segment_count() > 2);
        d.join(format!("{}.log", file_stem(0)))
    }

    fn offsets(log: &PartitionLog) -> Vec<u64> {
        log.read(0, 100, 100)
            .unwrap()
            .iter()
            .map(|r| r.offset)
            .collect()
    }

    #[test]
    fn a_flipped_base_offset_in_a_sealed_segment_is_reported_and_nothing_is_cut() {
        let d = tempfile::tempdir().unwrap();
        let p = written(d.path());
        let mut bytes = std::fs::read(&p).unwrap();
        let len = bytes.len();
        bytes[7] ^= 0x10; // the first batch's base offset
        std::fs::write(&p, &bytes).unwrap();
        let log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len as u64);
        assert_eq!(log.damage.len(), 1, "{:?}", log.damage);
        let dmg = &log.damage[0];
        assert_eq!(
            (dmg.byte_pos, dmg.first_offset, dmg.end_offset),
            (0, 0, Some(1))
        );
        assert_eq!(dmg.action, DamageAction::Skipped);
        assert!(dmg.reason.contains("checksum"), "{}", dmg.reason);
        assert_eq!(offsets(&log), (1..20).collect::<Vec<_>>());
        assert_eq!(log.log_end_offset(), 20);
    }

    #[test]
    fn damage_in_the_middle_of_the_active_segment_keeps_the_batches_after_it() {
        let d = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(d.path(), Settings::default(), 0, 0).unwrap();
        for i in 0..5 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        let second = log.segments[0].locs()[1];
        drop(log);
        let p = d.path().join(format!("{}.log", file_stem(0)));
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[second.pos as usize + 9] ^= 0x01; // its length
        std::fs::write(&p, &bytes).unwrap();
        let log = PartitionLog::open(d.path(), Settings::default(), 0, 0).unwrap();
        assert_eq!(offsets(&log), vec![0, 2, 3, 4]);
        assert_eq!(log.damage.len(), 1);
        assert_eq!(log.damage[0].offset_range(), "1..2");
        assert_eq!(log.recovered_bytes_cut, 0);
    }

    #[test]
    fn a_flip_in_the_last_batch_is_reported_and_kept_not_a_panic() {
        let d = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        for i in 0..20 {
            log.append_records(vec![pr(&format!("r{i}"))], 0, 0)
                .unwrap();
        }
        let last = *log.segments.last().unwrap().locs().last().unwrap();
        let p = log.segments.last().unwrap().file().unwrap().to_path_buf();
        drop(log);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[last.pos as usize + 7] ^= 0x80; // its base offset
        std::fs::write(&p, &bytes).unwrap();
        let log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        assert_eq!(log.log_end_offset(), 19);
        assert_eq!(log.damage.len(), 1);
        // A whole batch that fails its checksum is not a torn write: kept, reported.
        assert_eq!(log.damage[0].action, DamageAction::Skipped);
        assert_eq!(log.damage[0].offset_range(), "19..");
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
    }

    #[test]
    fn a_sealed_segment_cut_at_a_batch_boundary_is_reported_from_its_index() {
        let d = tempfile::tempdir().unwrap();
        let p = written(d.path());
        let log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        let first = log.segments[0].locs().to_vec();
        let next_base = log.segments[1].base_offset();
        drop(log);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(first[1].pos)
            .unwrap();
        let log = PartitionLog::open(d.path(), small(), 0, 0).unwrap();
        assert_eq!(log.damage.len(), 1, "{:?}", log.damage);
        assert_eq!(log.damage[0].action, DamageAction::Missing);
        assert_eq!(log.damage[0].offset_range(), format!("1..{next_base}"));
    }

    #[test]
    fn errors_name_the_log_file_and_byte() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("broker-2").join("orders-3");
        let mut log = PartitionLog::open(&dir, Settings::default(), 0, 0).unwrap();
        log.append_records(vec![pr("a")], 0, 0).unwrap();
        log.append_records(vec![pr("b")], 0, 0).unwrap();
        let second = log.segments[0].locs()[1];
        log.flush(0).unwrap();
        let p = dir.join(format!("{}.log", file_stem(0)));
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes.len() - 1;
        bytes[at] ^= 1;
        std::fs::write(&p, &bytes).unwrap(); // under the open log
        let e = log.read(0, 2, 10).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "broker-2/orders-3, 00000000000000000000.log byte {}",
                second.pos
            )),
            "{e}"
        );
        assert!(e.contains("offsets 1..=1"), "{e}");
    }
}
