//! The executor: plans run as tasks over the log. One task per input partition, records in
//! batches, rows merged deterministically; formats; the session that runs statements.

pub mod decode;
pub mod eval;
pub mod format;
pub mod functions;
pub mod inspect;
pub mod join;
pub mod output;
pub mod physical;
pub mod pipeline;
pub mod query;
pub mod session;
pub mod task;

pub use output::{Captured, Output, Progress, ResultColumn};
pub use session::Session;
