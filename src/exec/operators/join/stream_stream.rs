//! Stream-stream join task (WITHIN before, after, GRACE): each side's records are buffered
//! by key; a record joins the other side's buffered records whose time is within the
//! window (left time L matches right time R when L - before <= R <= L + after). When stream
//! time passes a record's window end plus grace, it leaves the buffer, and if it never
//! matched, a LEFT or FULL join emits it with NULLs for the other side. At the end of a
//! bounded run every buffered record's window closes.
//!
//! Without GRACE PERIOD a join keeps ksqlDB's older, eager behaviour (Kafka Streams'
//! `JoinWindows.of`): a record that finds no match when it arrives is emitted at once
//! with NULLs (LEFT: left records; RIGHT: right records; FULL: both), and a later match
//! still emits the joined row.

use std::collections::HashMap;

use bytes::Bytes;

use super::input::{pick, Input};
use super::{fill, part, side_offset, JoinSpec};
use crate::data::Value;
use crate::exec::error::ExecResult;
use crate::exec::state::codec::{Reader, Writer};
use crate::exec::task::{OutputRow, Task, FETCH_BATCH_RECORDS};
/// ksqlDB's grace without GRACE PERIOD (24 hours), for joins as for windows.
use crate::plan::window::DEFAULT_GRACE_MS;
use crate::syntax::ast::JoinType;

struct Buffered {
    time: i64,
    offset: u64,
    fields: Vec<Value>,
    matched: bool,
}

pub struct StreamStreamTask {
    left: Input,
    right: Input,
    spec: JoinSpec,
    left_buf: HashMap<Bytes, Vec<Buffered>>,
    right_buf: HashMap<Bytes, Vec<Buffered>>,
    /// Records in both buffers (the state's bound counts them).
    held: usize,
    stream_time: i64,
    row: Vec<Value>,
    /// Whether the end of the inputs closes every window (the end of a bounded run) or
    /// only pauses the task until more records arrive (a persistent query between
    /// catch-ups).
    close_at_end: bool,
    closed: bool,
}

impl StreamStreamTask {
    pub fn new(left: Input, right: Input, spec: JoinSpec) -> StreamStreamTask {
        let width = left.row.len();
        StreamStreamTask {
            left,
            right,
            spec,
            left_buf: HashMap::new(),
            right_buf: HashMap::new(),
            held: 0,
            stream_time: i64::MIN,
            row: vec![Value::Null; width],
            close_at_end: true,
            closed: false,
        }
    }

    fn window(&self) -> (i64, i64, i64) {
        let (before, after, grace) = self.spec.within.unwrap_or((0, 0, None));
        (before, after, grace.unwrap_or(DEFAULT_GRACE_MS))
    }

    /// Whether this join emits the records of a side that find no match.
    fn keeps_unmatched(&self, from_left: bool) -> bool {
        match self.spec.join_type {
            JoinType::Inner => false,
            JoinType::Left => from_left,
            JoinType::Right => !from_left,
            JoinType::Full => true,
        }
    }

    /// Without GRACE PERIOD unmatched records are emitted when they arrive.
    fn eager(&self) -> bool {
        self.spec
            .within
            .is_some_and(|(_, _, grace)| grace.is_none())
    }

    fn emit_unmatched(
        &mut self,
        from_left: bool,
        b: &Buffered,
        partition: u32,
        out: &mut Vec<OutputRow>,
    ) {
        if !self.keeps_unmatched(from_left) || b.matched {
            return;
        }
        let (mine, other) = if from_left {
            (self.spec.left, self.spec.right)
        } else {
            (self.spec.right, self.spec.left)
        };
        fill(&mut self.row, mine, Some(&b.fields));
        fill(&mut self.row, other, None);
        self.spec.ops.apply(
            &self.row,
            b.time,
            partition,
            side_offset(from_left, b.offset),
            out,
        );
    }

    /// Removes records whose window has closed (all of them when `all`), emitting the
    /// unmatched ones of both sides in time order.
    fn expire(&mut self, all: bool, out: &mut Vec<OutputRow>) {
        let (before, after, grace) = self.window();
        let partition = self.left.partition();
        let mut closed: Vec<(bool, Buffered)> = Vec::new();
        for from_left in [true, false] {
            let span = if from_left { after } else { before };
            let buf = std::mem::take(if from_left {
                &mut self.left_buf
            } else {
                &mut self.right_buf
            });
            let mut kept = HashMap::new();
            for (k, records) in buf {
                let (gone, stay): (Vec<Buffered>, Vec<Buffered>) =
                    records.into_iter().partition(|b| {
                        all || self.stream_time > b.time.saturating_add(span).saturating_add(grace)
                    });
                closed.extend(gone.into_iter().map(|b| (from_left, b)));
                if !stay.is_empty() {
                    kept.insert(k, stay);
                }
            }
            *(if from_left {
                &mut self.left_buf
            } else {
                &mut self.right_buf
            }) = kept;
        }
        self.held -= closed.len();
        closed.sort_by_key(|(_, b)| (b.time, b.offset));
        for (from_left, b) in &closed {
            self.emit_unmatched(*from_left, b, partition, out);
        }
    }
}

impl Task for StreamStreamTask {
    type Item = OutputRow;

    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> ExecResult<bool> {
        if self.closed {
            return Ok(false);
        }
        let (before, after, _) = self.window();
        for _ in 0..FETCH_BATCH_RECORDS {
            let (lt, rt) = (self.left.peek()?, self.right.peek()?);
            // On equal times the left record goes first.
            let from_left = match (lt, rt) {
                (Some(a), Some(b)) => a <= b,
                _ => match pick(lt, rt) {
                    Some(x) => x,
                    None => {
                        self.expire(self.close_at_end, out);
                        self.closed = self.close_at_end;
                        return Ok(false);
                    }
                },
            };
            let input = if from_left {
                &mut self.left
            } else {
                &mut self.right
            };
            let (time, record) = input.take().expect("peeked");
            if record.tombstone {
                continue;
            }
            // (the rows this record causes carry its headers)
            let first = out.len();
            self.stream_time = self.stream_time.max(time);
            let (mine, other_range) = if from_left {
                (self.spec.left, self.spec.right)
            } else {
                (self.spec.right, self.spec.left)
            };
            let key_expr = if from_left {
                &self.spec.left_key
            } else {
                &self.spec.right_key
            };
            let Some(key) = self.spec.key_bytes(key_expr, &input.row) else {
                continue;
            };
            let key = self.spec.windowed_key(key, from_left, &input.row);
            let partition = input.partition();
            self.spec.bound.check(
                self.held,
                || true,
                || format!("the stream-stream join of partition {partition}"),
                "records in its windows",
            )?;
            let fields = part(&input.row, mine);
            let mut matched = false;
            let others = if from_left {
                self.right_buf.get_mut(&key)
            } else {
                self.left_buf.get_mut(&key)
            };
            if let Some(others) = others {
                for o in others.iter_mut() {
                    let (l, r) = if from_left {
                        (time, o.time)
                    } else {
                        (o.time, time)
                    };
                    if l - before <= r && r <= l + after {
                        matched = true;
                        o.matched = true;
                        fill(&mut self.row, mine, Some(&fields));
                        fill(&mut self.row, other_range, Some(&o.fields));
                        self.spec.ops.apply(
                            &self.row,
                            time.max(o.time),
                            partition,
                            side_offset(from_left, record.offset),
                            out,
                        );
                    }
                }
            }
            let mut b = Buffered {
                time,
                offset: record.offset,
                fields,
                matched,
            };
            if !matched && self.eager() {
                self.emit_unmatched(from_left, &b, partition, out);
                b.matched = true;
            }
            let buf = if from_left {
                &mut self.left_buf
            } else {
                &mut self.right_buf
            };
            buf.entry(key).or_default().push(b);
            self.held += 1;
            crate::exec::row_headers::stamp(&mut out[first..], &record.headers);
        }
        self.expire(false, out);
        Ok(true)
    }

    fn inputs(&mut self) -> Vec<&mut Input> {
        vec![&mut self.left, &mut self.right]
    }

    fn close_at_end(&mut self, close: bool) {
        self.close_at_end = close;
    }

    fn save(&self, w: &mut Writer) {
        w.i64(self.stream_time);
        for buf in [&self.left_buf, &self.right_buf] {
            w.u32(buf.len());
            for (key, records) in buf {
                w.bytes(key);
                w.u32(records.len());
                for b in records {
                    w.i64(b.time);
                    w.u64(b.offset);
                    w.values(&b.fields);
                    w.u8(b.matched as u8);
                }
            }
        }
    }

    fn load(&mut self, r: &mut Reader) -> Result<(), String> {
        self.stream_time = r.i64()?;
        self.held = 0;
        for left in [true, false] {
            let mut buf = HashMap::new();
            for _ in 0..r.count()? {
                let key = Bytes::from(r.bytes()?);
                let mut records = Vec::new();
                for _ in 0..r.count()? {
                    records.push(Buffered {
                        time: r.i64()?,
                        offset: r.u64()?,
                        fields: r.values()?,
                        matched: r.u8()? != 0,
                    });
                }
                self.held += records.len();
                buf.insert(key, records);
            }
            *(if left {
                &mut self.left_buf
            } else {
                &mut self.right_buf
            }) = buf;
        }
        Ok(())
    }
}
