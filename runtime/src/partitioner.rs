//! Kafka's default partitioner, bit for bit: a keyed record goes to
//! `toPositive(murmur2(key)) % partitions`, so a key lands on the same partition as it
//! would from the Java producer. Records without a key go round-robin.

use std::sync::atomic::{AtomicU32, Ordering};

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), returning the same
/// signed 32-bit value as the Java implementation.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    // Java's switch falls through: case 3 then 2 then 1.
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

/// The partition for a key: `murmur2(key) & 0x7fffffff % partitions`.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    debug_assert!(partitions > 0);
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions
}

/// Round-robin assignment for records without a key.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicU32,
}

impl RoundRobin {
    pub fn next(&self, partitions: u32) -> u32 {
        self.next.fetch_add(1, Ordering::Relaxed) % partitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_kafka_test_vectors() {
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                *expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn partition_is_positive_murmur_modulo_count() {
        // murmur2("foobar") = -790332482; & 0x7fffffff = 1357151166; % 3 = 0, % 7 = 4
        assert_eq!(partition_for_key(b"foobar", 3), 1357151166 % 3);
        assert_eq!(partition_for_key(b"foobar", 7), 1357151166 % 7);
    }

    #[test]
    fn round_robin_cycles_through_partitions() {
        let rr = RoundRobin::default();
        let got: Vec<u32> = (0..7).map(|_| rr.next(3)).collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0]);
    }
}
