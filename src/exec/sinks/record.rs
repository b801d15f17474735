//! A record on its way to the appender: its key and value held inline when they are
//! small, as nearly every sink record is, else slices of a shared buffer. Inline bytes
//! cost no reference count: a slice of a shared buffer costs an atomic increment on the
//! task's thread and a decrement on the appending thread, on a count both threads touch,
//! for every record.

use bytes::Bytes;

use crate::exec::log::{Header, ProducerRef};

/// Bytes of key and value together that a record holds inline (a JSON row of a few
/// columns and its key; a wider record is a slice of its batch's buffer).
pub const INLINE_BYTES: usize = 80;

/// A record to append: key, value, timestamp and headers.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    data: Data,
    pub timestamp_ms: i64,
    pub headers: Vec<Header>,
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    /// The key's bytes then the value's; a length of `ABSENT` is no key or no value.
    Inline {
        key_len: u8,
        value_len: u8,
        bytes: [u8; INLINE_BYTES],
    },
    Shared {
        key: Option<Bytes>,
        value: Option<Bytes>,
    },
}

/// The length an absent key or value is given inline.
const ABSENT: u8 = u8::MAX;
const _: () = assert!(INLINE_BYTES < ABSENT as usize);

impl SinkRecord {
    /// A record of the given key and value, inline when they fit, else as they are.
    pub fn new(key: Option<Bytes>, value: Option<Bytes>, timestamp_ms: i64) -> SinkRecord {
        match SinkRecord::inline(key.as_deref(), value.as_deref(), timestamp_ms) {
            Some(r) => r,
            None => SinkRecord {
                data: Data::Shared { key, value },
                timestamp_ms,
                headers: Vec::new(),
            },
        }
    }

    /// A record holding copies of `key` and `value`, if they fit inline.
    pub fn inline(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp_ms: i64,
    ) -> Option<SinkRecord> {
        let (k, v) = (key.map_or(0, <[u8]>::len), value.map_or(0, <[u8]>::len));
        if k + v > INLINE_BYTES {
            return None;
        }
        let mut bytes = [0u8; INLINE_BYTES];
        if let Some(key) = key {
            bytes[..k].copy_from_slice(key);
        }
        if let Some(value) = value {
            bytes[k..k + v].copy_from_slice(value);
        }
        Some(SinkRecord {
            data: Data::Inline {
                key_len: key.map_or(ABSENT, |_| k as u8),
                value_len: value.map_or(ABSENT, |_| v as u8),
                bytes,
            },
            timestamp_ms,
            headers: Vec::new(),
        })
    }

    /// Sets the key and value to slices of a shared buffer (or any bytes).
    pub fn set_shared(&mut self, key: Option<Bytes>, value: Option<Bytes>) {
        self.data = Data::Shared { key, value };
    }

    pub fn with_headers(mut self, headers: Vec<Header>) -> SinkRecord {
        self.headers = headers;
        self
    }

    pub fn key(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Inline { key_len, bytes, .. } => {
                (*key_len != ABSENT).then(|| &bytes[..*key_len as usize])
            }
            Data::Shared { key, .. } => key.as_deref(),
        }
    }

    pub fn value(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Inline {
                key_len,
                value_len,
                bytes,
            } => {
                let start = if *key_len == ABSENT {
                    0
                } else {
                    *key_len as usize
                };
                (*value_len != ABSENT).then(|| &bytes[start..start + *value_len as usize])
            }
            Data::Shared { value, .. } => value.as_deref(),
        }
    }

    /// The record as the log appends it.
    pub fn producer_ref(&self) -> ProducerRef<'_> {
        ProducerRef {
            key: self.key(),
            value: self.value(),
            timestamp_ms: Some(self.timestamp_ms),
            headers: &self.headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_read_back_inline_and_shared() {
        let long = Bytes::from(vec![b'x'; INLINE_BYTES]);
        let cases: [(Option<Bytes>, Option<Bytes>, bool); 6] = [
            (
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"{}")),
                true,
            ),
            (None, Some(Bytes::from_static(b"v")), true),
            (Some(Bytes::from_static(b"k")), None, true),
            (Some(Bytes::new()), Some(Bytes::new()), true),
            (None, Some(long.clone()), true),
            (Some(Bytes::from_static(b"k")), Some(long), false),
        ];
        for (key, value, inline) in cases {
            let r = SinkRecord::new(key.clone(), value.clone(), 7);
            assert_eq!(matches!(r.data, Data::Inline { .. }), inline);
            assert_eq!(r.key(), key.as_deref());
            assert_eq!(r.value(), value.as_deref());
            let p = r.producer_ref();
            assert_eq!(
                (p.key, p.value, p.timestamp_ms),
                (key.as_deref(), value.as_deref(), Some(7))
            );
        }
    }
}
