//! `help`: the statements kql understands, one example each, and the shell's own commands.

pub const STATEMENTS: &[(&str, &str)] = &[
    (
        "CREATE STREAM",
        "CREATE STREAM readings (sensor VARCHAR KEY, temp DOUBLE) WITH (kafka_topic='readings', partitions=3, value_format='JSON');",
    ),
    (
        "CREATE TABLE",
        "CREATE TABLE sensors (id VARCHAR PRIMARY KEY, area VARCHAR) WITH (kafka_topic='sensors', value_format='JSON');",
    ),
    (
        "CREATE GLOBAL TABLE",
        "CREATE GLOBAL TABLE areas (id VARCHAR PRIMARY KEY, name VARCHAR) WITH (kafka_topic='areas', value_format='JSON');",
    ),
    (
        "CREATE ... AS SELECT",
        "CREATE STREAM hot AS SELECT * FROM readings WHERE temp > 25 EMIT CHANGES;",
    ),
    (
        "DROP",
        "DROP STREAM IF EXISTS hot DELETE TOPIC;",
    ),
    (
        "INSERT VALUES",
        "INSERT INTO readings (sensor, temp) VALUES ('s-1', 21.5);",
    ),
    (
        "INSERT SELECT",
        "INSERT INTO hot SELECT * FROM readings WHERE temp > 30 EMIT CHANGES;",
    ),
    (
        "SELECT (push)",
        "SELECT sensor, temp FROM readings WHERE temp > 25 EMIT CHANGES LIMIT 10;",
    ),
    (
        "SELECT (windowed)",
        "SELECT sensor, AVG(temp) FROM readings WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY sensor EMIT CHANGES;",
    ),
    (
        "CREATE SOURCE CONNECTOR",
        "CREATE SOURCE CONNECTOR r WITH ('connector.class'='FileStreamSource', 'file'='data/r.jsonl', 'topic'='readings');",
    ),
    ("SHOW", "SHOW STREAMS;  SHOW TABLES;  SHOW TOPICS;  SHOW PROPERTIES;"),
    ("DESCRIBE", "DESCRIBE readings;  DESCRIBE TOPIC readings;"),
    ("EXPLAIN", "EXPLAIN SELECT * FROM readings EMIT CHANGES;"),
    ("PRINT", "PRINT 'readings' FROM BEGINNING LIMIT 5;"),
    ("TERMINATE", "TERMINATE ALL;"),
    ("SET / UNSET", "SET 'auto.offset.reset'='latest';  UNSET 'auto.offset.reset';"),
    ("RUN SCRIPT", "RUN SCRIPT 'queries/temp_alerts.ksql';"),
    ("STOP / START BROKER", "STOP BROKER 2;  START BROKER 2;"),
];

pub fn text() -> String {
    let mut s = String::from(
        "Statements end with ';' and may span lines (the prompt turns to '   >' until the ';').\n\n",
    );
    let width = STATEMENTS.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, example) in STATEMENTS {
        s.push_str(&format!("  {name:<width$}  {example}\n"));
    }
    s.push_str(
        "\nShell commands (no ';' needed):\n\
         \x20 help                      this list\n\
         \x20 SET 'output'='json';      rows as JSON lines ('table' for aligned tables; UNSET 'output' for the default)\n\
         \x20 RUN SCRIPT 'file.ksql';   run every statement of a file (read by the shell)\n\
         \x20 clear                     clear the screen\n\
         \x20 exit, quit, \\q, Ctrl-D    leave\n\
         \nKeys: Tab completes keywords, streams, tables, columns and topics; Up/Down and Ctrl-R search\n\
         the history; Ctrl-C clears the line, or cancels a running query; Alt-Enter adds a line.\n\
         Not every statement above is supported by this version of kql yet: one that is not says so.\n",
    );
    s
}
