//! The internal compacted topic `__consumer_offsets`: one record per commit, keyed by
//! (group, topic, partition) with the committed offset as value; a tombstone forgets it.
//! Committed offsets are rebuilt from it when a durable cluster reopens.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::LogError;

pub const TOPIC: &str = "__consumer_offsets";

/// A committed offset's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OffsetKey {
    pub group: String,
    pub topic: String,
    pub partition: u32,
}

const VERSION: u8 = 1;

pub fn encode_key(k: &OffsetKey) -> Bytes {
    let mut b = BytesMut::with_capacity(1 + 4 + k.group.len() + k.topic.len() + 4);
    b.put_u8(VERSION);
    b.put_u16(k.group.len() as u16);
    b.put_slice(k.group.as_bytes());
    b.put_u16(k.topic.len() as u16);
    b.put_slice(k.topic.as_bytes());
    b.put_u32(k.partition);
    b.freeze()
}

pub fn decode_key(b: &[u8]) -> Result<OffsetKey, LogError> {
    let bad = || LogError::Corrupt(format!("malformed {TOPIC} key ({} bytes)", b.len()));
    let mut pos = 0usize;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], LogError> {
        let s = b.get(*pos..*pos + n).ok_or_else(bad)?;
        *pos += n;
        Ok(s)
    };
    if take(&mut pos, 1)?[0] != VERSION {
        return Err(bad());
    }
    let n = u16::from_be_bytes(take(&mut pos, 2)?.try_into().unwrap()) as usize;
    let group = String::from_utf8(take(&mut pos, n)?.to_vec()).map_err(|_| bad())?;
    let n = u16::from_be_bytes(take(&mut pos, 2)?.try_into().unwrap()) as usize;
    let topic = String::from_utf8(take(&mut pos, n)?.to_vec()).map_err(|_| bad())?;
    let partition = u32::from_be_bytes(take(&mut pos, 4)?.try_into().unwrap());
    Ok(OffsetKey {
        group,
        topic,
        partition,
    })
}

pub fn encode_value(offset: u64) -> Bytes {
    Bytes::copy_from_slice(&offset.to_be_bytes())
}

pub fn decode_value(b: &[u8]) -> Result<u64, LogError> {
    b.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| LogError::Corrupt(format!("malformed {TOPIC} value")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        let k = OffsetKey {
            group: "g".into(),
            topic: "orders".into(),
            partition: 7,
        };
        assert_eq!(decode_key(&encode_key(&k)).unwrap(), k);
        assert_eq!(decode_value(&encode_value(42)).unwrap(), 42);
        assert!(decode_key(b"\x01\x00").is_err());
    }
}
