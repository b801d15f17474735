//! The one sink: records (of a sink or an internal topic) appended in the order the
//! driver hands them over, one append per partition of up to `APPEND_BATCH_RECORDS`.

use crate::exec::drivers::driver::{self, Ran};
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::limits::APPEND_BATCH_RECORDS;
use crate::exec::log::{Acks, LogHandle, ProducerRef};
use crate::exec::persistent::Encoded;
use crate::exec::sinks::record::SinkRecord;
use crate::exec::task::Task;

/// Runs `units` through the driver, appending the records they make to `topic` in the
/// merged order; the units come back (to run again or be saved) with the first failure.
pub(crate) fn run_appending<U: Task<Item = Encoded> + 'static>(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    topic: &str,
    units: Vec<U>,
) -> Ran<U> {
    let mut appender = match Appender::new(log, topic) {
        Ok(a) => a,
        Err(e) => {
            return Ran {
                units,
                failure: Some(e),
            }
        }
    };
    let mut ran = driver::run(
        runtime,
        units,
        |e: &Encoded| e.order,
        |e| appender.push(e).map(|()| true),
    );
    if let Err(e) = appender.finish() {
        ExecError::keep_first(&mut ran.failure, e);
    }
    ran
}

pub(crate) struct Appender<'a> {
    log: &'a LogHandle,
    topic: String,
    by_partition: Vec<Vec<SinkRecord>>,
}

impl<'a> Appender<'a> {
    pub fn new(log: &'a LogHandle, topic: &str) -> ExecResult<Appender<'a>> {
        let n = log
            .partition_count(topic)
            .ok_or_else(|| format!("the topic '{topic}' is gone"))?;
        Ok(Appender {
            log,
            topic: topic.to_string(),
            by_partition: (0..n).map(|_| Vec::new()).collect(),
        })
    }

    pub fn push(&mut self, e: Encoded) -> ExecResult<()> {
        let p = e.target as usize;
        let Some(records) = self.by_partition.get_mut(p) else {
            return Err(ExecError::internal(format!(
                "a record for partition {p} of '{}', which has {}",
                self.topic,
                self.by_partition.len()
            )));
        };
        records.push(e.record);
        if records.len() >= APPEND_BATCH_RECORDS {
            self.flush(p)?;
        }
        Ok(())
    }

    fn flush(&mut self, p: usize) -> ExecResult<()> {
        let records = &mut self.by_partition[p];
        if records.is_empty() {
            return Ok(());
        }
        let refs: Vec<ProducerRef> = records.iter().map(SinkRecord::producer_ref).collect();
        let appended = self
            .log
            .produce_batch(&self.topic, p as u32, &refs, Acks::All);
        drop(refs);
        match appended {
            Ok(_) => {
                records.clear();
                Ok(())
            }
            Err(e) => Err(ExecError::from(e).context(format!("cannot append to '{}'", self.topic))),
        }
    }

    /// Appends what is left.
    pub fn finish(mut self) -> ExecResult<()> {
        for p in 0..self.by_partition.len() {
            self.flush(p)?;
        }
        Ok(())
    }
}
