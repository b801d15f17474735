//! The sink: rows encoded as the sink's key and value formats, placed by the key, and
//! appended by the one appender.

use super::{fixture, topic_records};
use crate::data::Value;
use crate::exec::persistent::SinkWriter;
use crate::exec::sinks::append::Appender;
use crate::exec::task::OutputRow;

fn row(sensor: &str, n: i64, t: i64, offset: u64) -> OutputRow {
    OutputRow {
        event_time_ms: t,
        partition: 0,
        offset,
        values: [Value::String(sensor.into()), Value::Bigint(n)]
            .into_iter()
            .collect(),
        window: None,
        tombstone: false,
        headers: None,
    }
}

#[test]
fn rows_become_records_keyed_by_the_key_columns_and_timestamped_by_event_time() {
    let session = fixture(
        "CREATE STREAM counts (sensor VARCHAR KEY, n BIGINT)
           WITH (kafka_topic='counts', partitions=2, value_format='JSON');",
        &[],
    );
    let def = session.catalog.get("COUNTS").expect("declared").clone();
    let sink = SinkWriter::new(&def, &[0, 1], None);
    let mut deleted = row("s-2", 0, 3000, 2);
    deleted.tombstone = true;
    let mut encoded = Vec::new();
    sink.encode(
        &session.log,
        &[row("s-1", 1, 1000, 0), row("s-2", 5, 2000, 1), deleted],
        &mut encoded,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(encoded.len(), 3);
    let mut appender = Appender::new(&session.log, "counts").unwrap();
    for e in encoded {
        appender.push(e).unwrap();
    }
    appender.finish().unwrap();
    let p_s1 = crate::exec::log::partition_for_key(b"s-1", 2);
    let p_s2 = crate::exec::log::partition_for_key(b"s-2", 2);
    let mut expected = vec![
        (p_s1, r#"s-1 -> {"N":1} @1000"#.to_string()),
        (p_s2, r#"s-2 -> {"N":5} @2000"#.to_string()),
        (p_s2, "s-2 -> null @3000".to_string()),
    ];
    expected.sort_by_key(|(p, _)| *p);
    let expected: Vec<String> = expected
        .into_iter()
        .map(|(p, r)| format!("p{p} {r}"))
        .collect();
    assert_eq!(topic_records(&session.log, "counts"), expected);
}
