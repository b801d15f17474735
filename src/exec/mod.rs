//! The executor: plans run as tasks over the log. One task per input partition, records in
//! batches, rows merged deterministically; formats; the session that runs statements.

#[cfg(test)]
mod check;
pub mod connector;
pub mod decode;
pub mod drivers;
pub mod error;
pub mod eval;
pub mod follow;
pub mod format;
pub mod input;
pub mod inspect;
mod join_times;
mod joined_aggregate;
#[cfg(test)]
mod layering;
pub mod limits;
mod loads;
pub mod log;
pub(crate) mod merge;
pub mod naming;
pub mod operators;
pub mod output;
pub mod persistent;
pub mod physical;
pub mod pull;
pub mod row_headers;
mod running;
pub mod sandbox;
mod saved_properties;
pub mod session;
pub mod share;
pub mod sinks;
pub mod state;
pub mod task;
pub mod time;

pub use output::{Captured, Output, Progress, ResultColumn};
pub use running::key_json as running_key_json;
pub use session::Session;
