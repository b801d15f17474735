//! What checking every segment on open costs: the time of `Cluster::open` on a data
//! directory of N records, as a ratio to a raw sequential read of the same files (1 MiB
//! chunks, warm page cache) measured in the same run.
//!
//!     cargo run --release -p kql-runtime --example open_cost [records]

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kql_runtime::*;

fn read_all(dir: &Path) -> u64 {
    let mut n = 0;
    let mut buf = vec![0u8; 1 << 20];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += read_all(&p);
        } else {
            let mut f = std::fs::File::open(&p).unwrap();
            loop {
                let k = f.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                n += k as u64;
            }
        }
    }
    n
}

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let d = tempfile::tempdir().unwrap();
    {
        let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
        c.create_topic("t", TopicConfig::default()).unwrap();
        let value = Bytes::from(vec![b'v'; 100]);
        for chunk in 0..n / 100 {
            let recs = (0..100)
                .map(|i| {
                    let key = Bytes::from(((chunk * 100 + i) as u64).to_be_bytes().to_vec());
                    ProducerRecord::new(Some(key), Some(value.clone()))
                })
                .collect();
            c.produce_batch("t", 0, recs, Acks::All).unwrap();
        }
    }
    let bytes = read_all(d.path());
    let raw = best(5, || read_all(d.path()));
    let open = best(5, || {
        Cluster::open(d.path(), 1, Settings::default()).unwrap()
    });
    println!(
        "{n} records, {:.1} MB: open {:.3} s, raw read {:.3} s, open/raw {:.2}",
        bytes as f64 / 1e6,
        open.as_secs_f64(),
        raw.as_secs_f64(),
        open.as_secs_f64() / raw.as_secs_f64()
    );
}
