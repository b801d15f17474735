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

/// The classpath of Kafka's Java client (the jars scripts/kafka-up fetched).
pub fn java_classpath() -> String {
    let libs = std::env::var("KQL_KAFKA_LIBS").unwrap_or_else(|_| {
        panic!("KQL_KAFKA_LIBS is not set: run the tests with scripts/test (scripts/kafka-up fetches Kafka's jars)")
    });
    assert!(
        std::path::Path::new(&libs)
            .join("kafka-clients-4.1.1.jar")
            .exists(),
        "no kafka-clients jar in {libs}"
    );
    format!("{libs}/*")
}

/// A topic or group name no earlier run against the same cluster has used.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A loopback address where no broker listens: a port the OS handed out, then let go.
pub fn address_nobody_listens_on() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
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
            panic!(
                "{var}: no Kafka broker answers at {address} ({e}); is scripts/kafka-up running?"
            )
        });
    }
    servers
}
