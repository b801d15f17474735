//! An aggregation task's state as bytes, for its changelog (`exec/state/durable.rs`): groups with
//! their accumulators, open sessions, windows waiting to close, stream time and counters,
//! in the layout of `exec/state/codec.rs`.

use std::collections::HashSet;

use super::{Acc, Accs, AggregateTask, Group, KeyBytes, Session};
use crate::exec::state::codec::{Reader, Result, Writer};

/// 2: groups count their rows, and a table input's rows are kept.
const VERSION: u8 = 2;

trait WriteAcc {
    fn acc(&mut self, a: &Acc);
    fn accs(&mut self, accs: &[Acc]);
}

impl WriteAcc for Writer {
    fn acc(&mut self, a: &Acc) {
        match a {
            Acc::Count(n) => {
                self.u8(0);
                self.i64(*n)
            }
            Acc::Distinct(set) => {
                self.u8(1);
                self.u32(set.len());
                set.iter().for_each(|b| self.bytes(b));
            }
            Acc::Sum(v) => {
                self.u8(2);
                self.value(v)
            }
            Acc::Avg(sum, n) => {
                self.u8(3);
                self.u64(sum.to_bits());
                self.i64(*n)
            }
            Acc::Min(v) => {
                self.u8(4);
                self.value(v)
            }
            Acc::Max(v) => {
                self.u8(5);
                self.value(v)
            }
            Acc::ByOffset(seq, v) => {
                self.u8(6);
                self.u64(*seq);
                self.value(v)
            }
            Acc::List(vs) => {
                self.u8(7);
                self.values(vs)
            }
            Acc::TopK(vs) => {
                self.u8(8);
                self.values(vs)
            }
            Acc::Offsets(kept) => {
                self.u8(9);
                self.u32(kept.len());
                for (seq, v) in kept {
                    self.u64(*seq);
                    self.value(v);
                }
            }
            Acc::Counts(counts) => {
                self.u8(10);
                self.u32(counts.len());
                for (v, n) in counts {
                    self.value(v);
                    self.i64(*n);
                }
            }
            Acc::Moments(n, mean, m2) => {
                self.u8(11);
                self.i64(*n);
                self.u64(mean.to_bits());
                self.u64(m2.to_bits());
            }
            Acc::Sums(n, sums) => {
                self.u8(12);
                self.i64(*n);
                sums.iter().for_each(|s| self.u64(s.to_bits()));
            }
        }
    }
    fn accs(&mut self, accs: &[Acc]) {
        self.u32(accs.len());
        accs.iter().for_each(|a| self.acc(a));
    }
}

trait ReadAcc {
    fn acc(&mut self) -> Result<Acc>;
    fn accs(&mut self) -> Result<Accs>;
}

impl ReadAcc for Reader<'_> {
    fn acc(&mut self) -> Result<Acc> {
        Ok(match self.u8()? {
            0 => Acc::Count(self.i64()?),
            1 => {
                let n = self.count()?;
                let mut set = HashSet::with_capacity(n);
                for _ in 0..n {
                    set.insert(self.bytes()?);
                }
                Acc::Distinct(set)
            }
            2 => Acc::Sum(self.value()?),
            3 => Acc::Avg(f64::from_bits(self.u64()?), self.i64()?),
            4 => Acc::Min(self.value()?),
            5 => Acc::Max(self.value()?),
            6 => Acc::ByOffset(self.u64()?, self.value()?),
            7 => Acc::List(self.values()?),
            8 => Acc::TopK(self.values()?),
            9 => {
                let n = self.count()?;
                let mut kept = Vec::with_capacity(n);
                for _ in 0..n {
                    kept.push((self.u64()?, self.value()?));
                }
                Acc::Offsets(kept)
            }
            10 => {
                let n = self.count()?;
                let mut counts = Vec::with_capacity(n);
                for _ in 0..n {
                    counts.push((self.value()?, self.i64()?));
                }
                Acc::Counts(counts)
            }
            11 => Acc::Moments(
                self.i64()?,
                f64::from_bits(self.u64()?),
                f64::from_bits(self.u64()?),
            ),
            12 => {
                let n = self.i64()?;
                let mut sums = [0.0; 5];
                for s in &mut sums {
                    *s = f64::from_bits(self.u64()?);
                }
                Acc::Sums(n, sums)
            }
            t => return Err(format!("unknown accumulator tag {t} in the snapshot")),
        })
    }
    fn accs(&mut self) -> Result<Accs> {
        let n = self.count()?;
        (0..n).map(|_| self.acc()).collect()
    }
}

impl AggregateTask {
    /// The task's whole state as bytes.
    pub(crate) fn snapshot(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.u8(VERSION);
        w.i64(self.stream_time_ms);
        w.u64(self.late_records);
        w.u64(self.seq);
        w.u32(self.groups.len());
        for (k, g) in &self.groups {
            w.bytes(k);
            w.values(&g.key);
            w.i64(g.start);
            w.i64(g.end);
            w.accs(&g.accs);
            w.i64(g.time_ms);
            w.u64(g.offset);
            w.i64(g.rows);
        }
        w.u32(self.closing.len());
        for (end, keys) in &self.closing {
            w.i64(*end);
            w.u32(keys.len());
            keys.iter().for_each(|k| w.bytes(k));
        }
        w.u32(self.sessions.len());
        for (k, (key, sessions)) in &self.sessions {
            w.bytes(k);
            w.values(key);
            w.u32(sessions.len());
            for s in sessions {
                w.i64(s.start);
                w.i64(s.end);
                w.accs(&s.accs);
                w.i64(s.time_ms);
                w.u64(s.offset);
            }
        }
        w.u32(self.table.len());
        for (k, row) in &self.table {
            w.bytes(k);
            w.values(row);
        }
        w.0
    }

    /// A task whose state is a snapshot's.
    pub(crate) fn from_snapshot(bytes: &[u8]) -> Result<AggregateTask> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        // version 1 (before table aggregation) had no row counts and no table rows
        if version != VERSION && version != 1 {
            return Err("the snapshot was written by another version of kql".into());
        }
        let mut t = AggregateTask::new();
        t.stream_time_ms = r.i64()?;
        t.late_records = r.u64()?;
        t.seq = r.u64()?;
        for _ in 0..r.count()? {
            let k = r.bytes()?;
            let g = Group {
                key: r.values()?,
                start: r.i64()?,
                end: r.i64()?,
                accs: r.accs()?,
                time_ms: r.i64()?,
                offset: r.u64()?,
                rows: if version == 1 { 0 } else { r.i64()? },
            };
            t.groups.insert(KeyBytes::from_vec(k), g);
        }
        for _ in 0..r.count()? {
            let end = r.i64()?;
            let keys = (0..r.count()?)
                .map(|_| r.bytes().map(KeyBytes::from_vec))
                .collect::<Result<Vec<_>>>()?;
            t.closing.insert(end, keys);
        }
        for _ in 0..r.count()? {
            let k = r.bytes()?;
            let key = r.values()?;
            let mut sessions = Vec::new();
            for _ in 0..r.count()? {
                sessions.push(Session {
                    start: r.i64()?,
                    end: r.i64()?,
                    accs: r.accs()?,
                    time_ms: r.i64()?,
                    offset: r.u64()?,
                });
            }
            for s in &sessions {
                t.session_ends.insert((s.end, k.clone(), s.start));
            }
            t.sessions.insert(k, (key, sessions));
        }
        if version != 1 {
            for _ in 0..r.count()? {
                let k = r.bytes()?;
                t.table.insert(k, r.values()?);
            }
        }
        if !r.at_end() {
            return Err("the snapshot has bytes after its end".into());
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::Value;

    fn sample() -> AggregateTask {
        let mut t = AggregateTask::new();
        t.stream_time_ms = 1_700_000_000_000;
        t.late_records = 3;
        t.seq = 42;
        let accs = vec![
            Acc::Count(7),
            Acc::Distinct([b"a".to_vec()].into_iter().collect()),
            Acc::Sum(Value::Decimal(
                crate::data::Decimal::from_parts(12345, 2).unwrap(),
            )),
            Acc::Avg(21.5, 4),
            Acc::Min(Value::string("x")),
            Acc::Max(Value::Timestamp(9)),
            Acc::ByOffset(5, Value::Array(Arc::new(vec![Value::Int(1), Value::Null]))),
            Acc::List(vec![Value::Map(Arc::new(vec![(
                Value::string("k"),
                Value::Double(0.5),
            )]))]),
            Acc::TopK(vec![Value::Struct(Arc::new(vec![
                Value::Boolean(true),
                Value::Bytes(bytes::Bytes::from_static(b"\x00\x01")),
            ]))]),
        ];
        let key = vec![Value::string("s-1")];
        t.groups.insert(
            KeyBytes::from_slice(b"s-1"),
            Group {
                key: key.clone(),
                start: 0,
                end: 60_000,
                accs: accs.clone().into(),
                time_ms: 59_000,
                offset: 11,
                rows: 2,
            },
        );
        t.closing.insert(60_000, vec![KeyBytes::from_slice(b"s-1")]);
        t.table
            .insert(b"row-1".to_vec(), vec![Value::string("s-1"), Value::Int(3)]);
        t.sessions.insert(
            b"s-2".to_vec(),
            (
                key,
                vec![Session {
                    start: 5,
                    end: 9,
                    accs: accs.into(),
                    time_ms: 9,
                    offset: 12,
                }],
            ),
        );
        t
    }

    #[test]
    fn a_snapshot_reads_back_to_the_same_state() {
        let t = sample();
        let back = AggregateTask::from_snapshot(&t.snapshot()).unwrap();
        assert_eq!(
            (back.stream_time_ms, back.late_records, back.seq),
            (t.stream_time_ms, 3, 42)
        );
        assert_eq!(format!("{:?}", back.groups), format!("{:?}", t.groups));
        assert_eq!(back.closing, t.closing);
        assert_eq!(format!("{:?}", back.sessions), format!("{:?}", t.sessions));
        assert_eq!(back.table, t.table);
        // one entry per map and set, so the encoding is deterministic here
        assert_eq!(back.snapshot(), t.snapshot());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = sample().snapshot();
        for end in 0..bytes.len() {
            assert!(
                AggregateTask::from_snapshot(&bytes[..end]).is_err(),
                "a snapshot cut at {end} was accepted"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(AggregateTask::from_snapshot(&longer).is_err());
    }
}
