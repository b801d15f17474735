//! Operator state and its durability: `operator_state.rs` is what every stateful operator
//! offers (snapshot, restore, how far its inputs were consumed), `codec.rs` the byte layout
//! of a snapshot, `durable.rs` the commits, changelog snapshots and restores of persistent
//! queries.

pub mod codec;
pub mod durable;
pub(crate) mod operator_state;
