//! The byte layout of operator state in changelog snapshots (aggregations, joins):
//! little-endian numbers, length-prefixed sequences, a tag byte per value. Reading checks
//! every length, so a damaged snapshot is an error, not a panic.

use std::sync::Arc;

use crate::data::{Decimal, Value};

/// Appends a state's parts to a byte buffer.
pub struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u32(&mut self, v: usize) {
        self.0.extend_from_slice(&(v as u32).to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len());
        self.0.extend_from_slice(b);
    }
    pub(crate) fn values(&mut self, vs: &[Value]) {
        self.u32(vs.len());
        vs.iter().for_each(|v| self.value(v));
    }
    pub(crate) fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.u8(0),
            Value::Boolean(b) => {
                self.u8(1);
                self.u8(*b as u8)
            }
            Value::Int(i) => {
                self.u8(2);
                self.i64(*i as i64)
            }
            Value::Bigint(i) => {
                self.u8(3);
                self.i64(*i)
            }
            Value::Double(d) => {
                self.u8(4);
                self.u64(d.to_bits())
            }
            // tag 5 was the 28-digit layout of snapshots written before 38-digit decimals
            Value::Decimal(d) => {
                self.u8(14);
                self.0.extend_from_slice(&d.to_bytes())
            }
            Value::String(s) => {
                self.u8(6);
                self.bytes(s.as_bytes())
            }
            Value::Bytes(b) => {
                self.u8(7);
                self.bytes(b)
            }
            Value::Timestamp(t) => {
                self.u8(8);
                self.i64(*t)
            }
            Value::Date(d) => {
                self.u8(9);
                self.i64(*d as i64)
            }
            Value::Time(t) => {
                self.u8(10);
                self.i64(*t as i64)
            }
            Value::Array(items) => {
                self.u8(11);
                self.values(items)
            }
            Value::Map(entries) => {
                self.u8(12);
                self.u32(entries.len());
                for (k, v) in entries.iter() {
                    self.value(k);
                    self.value(v);
                }
            }
            Value::Struct(fields) => {
                self.u8(13);
                self.values(fields)
            }
        }
    }
}

/// Reads a state's parts back, checking every length.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

pub(crate) type Result<T> = std::result::Result<T, String>;

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// Whether every byte was read.
    pub(crate) fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// Every byte not read yet (a part whose layout is its owner's, read to the end).
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.bytes[self.at..];
        self.at = self.bytes.len();
        s
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("the snapshot is truncated")?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()) as usize)
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.u32()?;
        Ok(self.take(n)?.to_vec())
    }
    /// A count of items that each take at least one byte: never more than what is left.
    pub(crate) fn count(&mut self) -> Result<usize> {
        let n = self.u32()?;
        if n > self.bytes.len() - self.at {
            return Err("the snapshot is damaged (a count past its end)".into());
        }
        Ok(n)
    }
    pub(crate) fn values(&mut self) -> Result<Vec<Value>> {
        let n = self.count()?;
        (0..n).map(|_| self.value()).collect()
    }
    pub(crate) fn value(&mut self) -> Result<Value> {
        Ok(match self.u8()? {
            0 => Value::Null,
            1 => Value::Boolean(self.u8()? != 0),
            2 => Value::Int(self.i64()? as i32),
            3 => Value::Bigint(self.i64()?),
            4 => Value::Double(f64::from_bits(self.u64()?)),
            5 => Value::Decimal(
                Decimal::from_legacy_bytes(self.take(16)?.try_into().unwrap())
                    .ok_or("a decimal is out of range")?,
            ),
            14 => Value::Decimal(
                Decimal::from_bytes(self.take(17)?.try_into().unwrap())
                    .ok_or("a decimal is out of range")?,
            ),
            6 => Value::String(Arc::from(
                String::from_utf8(self.bytes()?).map_err(|_| "a string is not UTF-8")?,
            )),
            7 => Value::Bytes(bytes::Bytes::from(self.bytes()?)),
            8 => Value::Timestamp(self.i64()?),
            9 => Value::Date(self.i64()? as i32),
            10 => Value::Time(self.i64()? as i32),
            11 => Value::Array(Arc::new(self.values()?)),
            12 => {
                let n = self.count()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push((self.value()?, self.value()?));
                }
                Value::Map(Arc::new(entries))
            }
            13 => Value::Struct(Arc::new(self.values()?)),
            t => return Err(format!("unknown value tag {t} in the snapshot")),
        })
    }
}
