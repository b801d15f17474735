//! What opening a log found wrong with its files, and what it did about it: a region of a
//! segment file that holds no valid batch (a checksum mismatch, a truncation, an offset out
//! of sequence), located by file, byte range and the offsets it held. The cluster turns
//! these into reports that name the topic, partition and broker (`cluster::report`).

use std::path::PathBuf;

/// One damaged region of a segment's log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment's log file.
    pub file: PathBuf,
    /// Where the region starts in the file, and its length.
    pub byte_pos: u64,
    pub byte_len: u64,
    /// The offsets the region held: from `first_offset` to `end_offset` (exclusive), or
    /// to the log end when the region ran to the end of the active segment (None).
    pub first_offset: u64,
    pub end_offset: Option<u64>,
    /// Why its bytes are not a batch (the first check that failed).
    pub reason: String,
    pub action: DamageAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageAction {
    /// The end of the active segment held no whole valid batch (a torn write after a
    /// crash, or damage there): the file was cut at `byte_pos`, as Kafka's recovery does.
    CutTornTail,
    /// The region is inside the log (a sealed segment, or followed by valid batches): its
    /// bytes are left as they are and reads skip its offsets.
    Skipped,
    /// The file ends where its index lists another batch: the bytes are gone.
    Missing,
    /// The index files disagreed with the log and were rebuilt from it (no record lost).
    IndexRebuilt,
}

impl Damage {
    /// The offsets affected, as `a..b` or `a..` (to the log end).
    pub fn offset_range(&self) -> String {
        match self.end_offset {
            Some(e) => format!("{}..{}", self.first_offset, e),
            None => format!("{}..", self.first_offset),
        }
    }

    /// Does the region hold any offset? (A torn tail may hold none: a write that had not
    /// finished its first batch.)
    pub fn loses_offsets(&self) -> bool {
        self.action != DamageAction::IndexRebuilt
            && self.end_offset.is_none_or(|e| e > self.first_offset)
    }
}
