//! The shell's persistent queries keep running while the user types: a thread sleeps on
//! the log's append signal and, when records arrive (an INSERT, a `kql produce` from
//! another terminal), lets every persistent query read them. It skips a wake-up while an
//! entry runs (the entry holds the session and catches queries up itself).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::exec::follow::WAKE_FALLBACK;
use crate::exec::Session;

pub struct Background {
    stop: Arc<AtomicBool>,
    session: Arc<Mutex<Session>>,
    thread: Option<JoinHandle<()>>,
}

pub fn start(session: Arc<Mutex<Session>>) -> Background {
    let stop = Arc::new(AtomicBool::new(false));
    let cluster = session
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .log()
        .clone();
    let thread = {
        let (stop, session) = (stop.clone(), session.clone());
        std::thread::Builder::new()
            .name("kql-background".into())
            .stack_size(crate::exec::limits::TASK_STACK_BYTES)
            .spawn(move || {
                let mut seen = cluster.append_count();
                let mut reported = false;
                while !stop.load(Ordering::Relaxed) {
                    seen = cluster.wait_for_appends(seen, WAKE_FALLBACK);
                    let Ok(mut s) = session.try_lock() else {
                        continue; // an entry is running
                    };
                    if s.registry.queries.is_empty() {
                        continue;
                    }
                    // A failure is shown once; the next entry reports it again if it persists.
                    match s.advance() {
                        Err(d) if !reported => {
                            eprintln!("\nwarning: a background query failed: {}", d.message);
                            reported = true;
                        }
                        Err(_) => {}
                        Ok(_) => reported = false,
                    }
                }
            })
            .ok()
    };
    Background {
        stop,
        session,
        thread,
    }
}

impl Background {
    /// Stops the thread; the queries commit what they have read.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let s = self.session.lock().unwrap_or_else(|e| e.into_inner());
        s.log().wake_waiters();
        drop(s);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut s = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(d) = s.commit() {
            eprintln!("warning: {}", d.message);
        }
    }
}
