//! The clusters scripts/kafka-up starts are real Kafka brokers: each node answers Kafka's
//! ApiVersions request on its bootstrap address.

mod kafka;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const API_VERSIONS: i16 = 18;
const PRODUCE: i16 = 0;

/// Sends ApiVersions v0 and returns (correlation id, error code, api keys offered).
fn api_versions(address: &str, correlation_id: i32) -> (i32, i16, Vec<i16>) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let client_id = b"kql-test";
    let mut body = Vec::new();
    body.extend_from_slice(&API_VERSIONS.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    body.extend_from_slice(client_id);
    stream
        .write_all(&(body.len() as i32).to_be_bytes())
        .unwrap();
    stream.write_all(&body).unwrap();

    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut response = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut response).unwrap();
    let i16_at = |at: usize| i16::from_be_bytes([response[at], response[at + 1]]);
    let i32_at = |at: usize| i32::from_be_bytes(response[at..at + 4].try_into().unwrap());
    let keys = (0..i32_at(6) as usize)
        .map(|k| i16_at(10 + k * 6))
        .collect();
    (i32_at(0), i16_at(4), keys)
}

fn assert_every_node_answers(bootstrap: &str, nodes: usize) {
    let addresses: Vec<&str> = bootstrap.split(',').collect();
    assert_eq!(addresses.len(), nodes, "bootstrap list {bootstrap}");
    for (n, address) in addresses.iter().enumerate() {
        let (correlation, error, keys) = api_versions(address, 7 + n as i32);
        assert_eq!(correlation, 7 + n as i32, "{address}");
        assert_eq!(error, 0, "{address} refused ApiVersions");
        assert!(
            keys.contains(&PRODUCE),
            "{address} offers no Produce API: {keys:?}"
        );
    }
}

#[test]
fn the_one_node_cluster_answers_kafka_requests() {
    assert_every_node_answers(&kafka::one_node(), 1);
}

#[test]
fn every_node_of_the_three_node_cluster_answers_kafka_requests() {
    assert_every_node_answers(&kafka::three_nodes(), 3);
}
