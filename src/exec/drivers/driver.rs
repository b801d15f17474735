//! The one run loop. Every run of a query, transient or persistent, bounded or live, is a
//! set of units (one `Task` each, owning its partitions, operators and state) that this
//! driver runs to the current end of their inputs: each unit runs on tokio's blocking pool
//! and steps a batch at a time, sending what a batch made (rows, or records to append)
//! over a bounded channel; the caller's thread takes the head of every unit's stream and
//! hands the smallest, by (event time, partition, offset), to `consume`. Each unit keeps
//! its own order and the result does not depend on scheduling; memory follows the slowest
//! unit. The units come back with their state and positions for the next run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use crate::exec::error::{ExecError, ExecResult};
use crate::exec::limits::CHANNEL_BATCHES;
use crate::exec::task::Task;

/// What a run leaves: the units, and the first failure (a unit's, or `consume`'s).
pub(crate) struct Ran<U> {
    pub units: Vec<U>,
    pub failure: Option<ExecError>,
}

/// Runs every unit to its end, or until `consume` returns false (a unit that is
/// cancelled, by Ctrl-C say, ends its own input). `order` must be the items' (event time,
/// partition, offset).
pub(crate) fn run<U: Task + 'static>(
    runtime: &tokio::runtime::Runtime,
    units: Vec<U>,
    order: impl Fn(&U::Item) -> (i64, u32, u64),
    mut consume: impl FnMut(U::Item) -> ExecResult<bool>,
) -> Ran<U> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut receivers: Vec<Receiver<Vec<U::Item>>> = Vec::with_capacity(units.len());
    let mut handles = Vec::with_capacity(units.len());
    for mut unit in units {
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        receivers.push(rx);
        let stop = stop.clone();
        handles.push(runtime.spawn_blocking(move || {
            let result = (|| -> ExecResult<()> {
                // (sized as the batch before: a batch grown from empty is copied
                // again at every doubling)
                let mut size = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut out = Vec::with_capacity(size);
                    let more = unit.next_batch(&mut out)?;
                    size = out.len();
                    // A closed channel: the caller stopped (LIMIT, or a failure of its own).
                    if !out.is_empty() && tx.send(out).is_err() {
                        return Ok(());
                    }
                    if !more {
                        break;
                    }
                }
                Ok(())
            })();
            (unit, result)
        }));
    }
    let mut failure = None;
    // Each unit's batch in hand, its items moved out one at a time.
    let mut queues: Vec<std::vec::IntoIter<U::Item>> =
        receivers.iter().map(|_| Vec::new().into_iter()).collect();
    let mut done = vec![false; receivers.len()];
    'merge: loop {
        // Every unit still running has a head item, or has finished.
        for (i, rx) in receivers.iter().enumerate() {
            while queues[i].as_slice().is_empty() && !done[i] {
                match rx.recv() {
                    Ok(batch) => queues[i] = batch.into_iter(),
                    Err(_) => done[i] = true,
                }
            }
        }
        let Some(i) = crate::exec::merge::next_head(&queues, &order) else {
            break;
        };
        let item = queues[i].next().expect("the head was just seen");
        match consume(item) {
            Ok(true) => {}
            Ok(false) => break 'merge,
            Err(e) => {
                failure = Some(e);
                break 'merge;
            }
        }
    }
    // Units still running stop at their next batch; their channels close here.
    stop.store(true, Ordering::Relaxed);
    drop(receivers);
    let mut back = Vec::with_capacity(handles.len());
    for h in handles {
        match runtime.block_on(h) {
            Ok((unit, result)) => {
                back.push(unit);
                if let Err(e) = result {
                    ExecError::keep_first(&mut failure, e);
                }
            }
            Err(e) => ExecError::keep_first(&mut failure, ExecError::task_failed(e)),
        }
    }
    Ran {
        units: back,
        failure,
    }
}

/// Runs a task to the end of its inputs on this thread, dropping what it makes: a replay
/// that rebuilds an operator's state (a restore without a snapshot). What happens at the
/// end (windows closed or left open) is the task's `close_at_end`, as in any run.
pub(crate) fn replay<T: Task + ?Sized>(task: &mut T) -> ExecResult<()> {
    let mut dropped = Vec::new();
    while task.next_batch(&mut dropped)? {
        dropped.clear();
    }
    Ok(())
}
