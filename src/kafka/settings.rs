//! How kql reaches a Kafka cluster: the bootstrap servers, the application id, and client
//! properties (from a `--config` properties file), handed to librdkafka as they are.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kql_runtime::LogError;

/// Properties of Java's Kafka clients that librdkafka does not have and that mean nothing
/// to kql (it serializes keys and values itself): dropped from a properties file, so a file
/// written for a Java application works unchanged.
pub const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "partitioner.class",
    "interceptor.classes",
];

/// How long a request to the cluster (metadata, admin, commit, delivery) may take before
/// kql reports the cluster unreachable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Kafka Streams' name for how a shared persistent query writes its results.
pub const GUARANTEE_PROPERTY: &str = "processing.guarantee";

/// How the processes sharing a persistent query write its results (`processing.guarantee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarantee {
    /// Each process writes in Kafka transactions (`exactly_once_v2`): its sink, internal
    /// and changelog records and its input offsets become visible together or not at all.
    ExactlyOnce,
    /// Plain idempotent writes, offsets committed after them (`at_least_once`): rows a
    /// process wrote after its last commit are written again by its successor.
    AtLeastOnce,
}

impl Guarantee {
    /// Kafka Streams' values (`exactly_once` is its older name for the same guarantee).
    pub fn parse(value: &str) -> Result<Guarantee, LogError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "exactly_once_v2" | "exactly_once" => Ok(Guarantee::ExactlyOnce),
            "at_least_once" => Ok(Guarantee::AtLeastOnce),
            other => Err(LogError::InvalidConfig(format!(
                "'{other}' is not a value of '{GUARANTEE_PROPERTY}': use 'exactly_once_v2' or 'at_least_once'"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `HOST:PORT[,HOST:PORT...]`.
    pub bootstrap_servers: String,
    /// Names the application: the prefix of its consumer groups and internal topics.
    pub application_id: String,
    /// Client properties passed to librdkafka (producer, consumer and admin alike).
    pub properties: BTreeMap<String, String>,
    pub timeout: Duration,
    /// `processing.guarantee` (kql's, not passed to librdkafka).
    pub guarantee: Guarantee,
}

impl KafkaSettings {
    pub fn new(bootstrap_servers: &str) -> KafkaSettings {
        KafkaSettings {
            bootstrap_servers: bootstrap_servers.to_string(),
            application_id: "kql".to_string(),
            properties: BTreeMap::new(),
            timeout: DEFAULT_TIMEOUT,
            guarantee: Guarantee::ExactlyOnce,
        }
    }

    /// Adds the properties of a Java-style properties file (`key=value` or `key: value`
    /// lines, `#` and `!` comments). `bootstrap.servers` in the file is used when the
    /// command line gave none.
    pub fn load_properties_file(&mut self, path: &Path) -> Result<(), LogError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LogError::InvalidConfig(format!("cannot read {}: {e}", path.display())))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some(at) = line.find(['=', ':']) else {
                return Err(LogError::InvalidConfig(format!(
                    "{}:{}: expected key=value, found '{line}'",
                    path.display(),
                    n + 1
                )));
            };
            let (key, value) = (line[..at].trim(), line[at + 1..].trim());
            self.set_property(key, value).map_err(|e| match e {
                LogError::InvalidConfig(why) => {
                    LogError::InvalidConfig(format!("{}:{}: {why}", path.display(), n + 1))
                }
                other => other,
            })?;
        }
        Ok(())
    }

    /// Sets one client property; Java-only ones are ignored, `bootstrap.servers` only fills
    /// an empty address list, `processing.guarantee` is kql's.
    pub fn set_property(&mut self, key: &str, value: &str) -> Result<(), LogError> {
        match key {
            GUARANTEE_PROPERTY => self.guarantee = Guarantee::parse(value)?,
            k if JAVA_ONLY.contains(&k) => {}
            "bootstrap.servers" => {
                if self.bootstrap_servers.is_empty() {
                    self.bootstrap_servers = value.to_string();
                }
            }
            "application.id" => self.application_id = value.to_string(),
            _ => {
                self.properties.insert(key.to_string(), value.to_string());
            }
        }
        Ok(())
    }

    pub fn timeout_ms(&self) -> u64 {
        self.timeout.as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_java_properties_file_is_read_and_java_only_keys_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.properties");
        std::fs::write(
            &path,
            "# a comment\n! another\nbootstrap.servers=10.0.0.1:9092\nacks = all\n\
             compression.type: lz4\nkey.serializer=org.apache.kafka.common.serialization.StringSerializer\n",
        )
        .unwrap();
        let mut s = KafkaSettings::new("");
        s.load_properties_file(&path).unwrap();
        assert_eq!(s.bootstrap_servers, "10.0.0.1:9092");
        assert_eq!(
            s.properties.iter().collect::<Vec<_>>(),
            vec![
                (&"acks".to_string(), &"all".to_string()),
                (&"compression.type".to_string(), &"lz4".to_string())
            ]
        );
    }

    #[test]
    fn processing_guarantee_is_kql_s_and_a_bad_value_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.properties");
        let mut s = KafkaSettings::new("x:1");
        assert_eq!(s.guarantee, Guarantee::ExactlyOnce);
        std::fs::write(&path, "processing.guarantee=at_least_once\n").unwrap();
        s.load_properties_file(&path).unwrap();
        assert_eq!(s.guarantee, Guarantee::AtLeastOnce);
        assert!(s.properties.is_empty(), "not passed to librdkafka");
        std::fs::write(&path, "linger.ms=5\nprocessing.guarantee=twice\n").unwrap();
        let e = s.load_properties_file(&path).unwrap_err().to_string();
        assert!(
            e.contains("client.properties:2: 'twice' is not a value of 'processing.guarantee'"),
            "{e}"
        );
    }

    #[test]
    fn the_command_line_address_wins_over_the_file() {
        let mut s = KafkaSettings::new("127.0.0.1:9092");
        s.set_property("bootstrap.servers", "10.0.0.1:9092")
            .unwrap();
        assert_eq!(s.bootstrap_servers, "127.0.0.1:9092");
    }

    #[test]
    fn a_line_without_a_separator_is_an_error_with_its_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.properties");
        std::fs::write(&path, "acks=all\njust words\n").unwrap();
        let e = KafkaSettings::new("x:1")
            .load_properties_file(&path)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("bad.properties:2: expected key=value"),
            "{e}"
        );
    }
}
