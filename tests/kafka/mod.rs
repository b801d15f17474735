//! Where the tests against a real Apache Kafka find their clusters: the bootstrap addresses
//! that scripts/kafka-up exports. A missing address or an unreachable broker fails the test;
//! a Kafka test never passes without a broker.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The 1-node cluster.
pub fn one_node() -> String {
    bootstrap("KQL_TEST_KAFKA")
}

/// The 3-node cluster (replication factor 3, min.insync.replicas=2).
pub fn three_nodes() -> String {
    bootstrap("KQL_TEST_KAFKA3")
}

fn bootstrap(var: &str) -> String {
    let servers = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests with scripts/test, which starts Apache Kafka (scripts/kafka-up), or export it by hand")
    });
    for address in servers.split(',') {
        let addr: SocketAddr = address
            .parse()
            .unwrap_or_else(|e| panic!("{var}: '{address}' is not HOST:PORT ({e})"));
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_or_else(|e| {
            panic!("{var}: no Kafka broker answers at {address} ({e}); is scripts/kafka-up running?")
        });
    }
    servers
}
