//! The embedded log behind the Kafka wire protocol: one TCP listener per in-process broker
//! (the first is the bootstrap), request frames decoded with the `kafka-protocol` codecs,
//! and the broker's logic (produce, fetch, offsets, topics, consumer groups) over a
//! `kql_runtime::Cluster`. The language knows nothing of this crate and this crate knows
//! nothing of the language.

pub mod alloc;
mod api;
mod compression;
mod connection;
mod dispatch;
mod errors;
mod frame;
mod groups;
pub mod limits;
mod records;
mod server;
mod state;
mod versions;

pub use server::{ServeConfig, Server};
pub use versions::supported_versions;
