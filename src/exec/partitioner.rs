//! Kafka's default partitioner for keyed records, computed here rather than asked of the
//! cluster per record (`Cluster::partition_for` looks the topic up each time): a key goes to
//! `murmur2(key) & 0x7fffffff % partitions`, bit for bit Kafka's Java client (DESIGN.md).
//! A test checks it against the cluster's own answer. Records without a key still go
//! round-robin through the cluster.

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    // Java's switch falls through: case 3, then 2, then 1.
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a keyed record.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kql_runtime::{Cluster, TopicConfig};

    #[test]
    fn agrees_with_the_cluster() {
        let cluster = Cluster::in_memory(1);
        for n in [1u32, 2, 3, 7, 12] {
            let topic = format!("t{n}");
            cluster
                .create_topic(
                    &topic,
                    TopicConfig {
                        partitions: n,
                        ..Default::default()
                    },
                )
                .unwrap();
            for i in 0..500u32 {
                let key = format!("s-{}", i * 7919 % 10007);
                let mut bytes = key.into_bytes();
                bytes.truncate((i % 9) as usize + 1);
                assert_eq!(
                    partition_for_key(&bytes, n),
                    cluster.partition_for(&topic, Some(&bytes)).unwrap()
                );
            }
        }
    }
}
