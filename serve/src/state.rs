//! What every connection shares: the cluster, the brokers' addresses, the group
//! coordinator, idempotent producers' state, and the signal that new records arrived.

use std::net::SocketAddr;
use std::sync::Arc;

use kql_runtime::Cluster;
use tokio::sync::{Notify, Semaphore};

use crate::api::producers::Producers;
use crate::groups::Coordinator;
use crate::limits::REQUEST_BYTES_IN_FLIGHT_MAX;

pub struct Shared {
    pub cluster: Cluster,
    /// Broker id `i + 1` listens on `brokers[i]`.
    pub brokers: Vec<SocketAddr>,
    pub cluster_id: String,
    pub groups: Coordinator,
    pub producers: Producers,
    /// Woken by every Produce: waiting Fetches look again.
    pub appended: Notify,
    pub request_budget: Arc<Semaphore>,
}

impl Shared {
    pub fn new(cluster: Cluster, brokers: Vec<SocketAddr>) -> Shared {
        Shared {
            cluster,
            brokers,
            cluster_id: "kql-embedded-cluster".to_string(),
            groups: Coordinator::default(),
            producers: Producers::default(),
            appended: Notify::new(),
            request_budget: Arc::new(Semaphore::new(REQUEST_BYTES_IN_FLIGHT_MAX)),
        }
    }

    pub fn broker_addr(&self, id: i32) -> Option<SocketAddr> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.brokers.get(i).copied())
    }
}

/// One connection's view: the shared state and the broker whose port it came in on.
pub struct Ctx {
    pub shared: Arc<Shared>,
    pub broker_id: i32,
    pub peer: SocketAddr,
    /// The address the client reached: brokers are advertised on its IP.
    pub local: SocketAddr,
}
