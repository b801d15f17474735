//! The executor: plans run as tasks over the log. One task per input partition, records in
//! batches, rows merged deterministically; formats; the session that runs statements.

pub mod eval;
pub mod format;
pub mod functions;
pub mod output;
pub mod pipeline;
pub mod query;
pub mod session;

pub use output::{Captured, Output, Progress, ResultColumn};
pub use session::Session;
