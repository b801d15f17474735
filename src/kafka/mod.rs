//! The Kafka backend of the executor's log interface: topics, records and consumer-group
//! offsets on an external Apache Kafka cluster, through librdkafka (the `rdkafka` crate).
//! Nothing above the log interface knows which log it runs on; this module is the only one
//! that names rdkafka.
//!
//! One `KafkaLog` holds: an admin client (topics, configs), a consumer without a group for
//! metadata and watermarks, one producer per acks level (`produce.rs`), one assigned
//! consumer per partition being read (`fetch.rs`), and one consumer per group whose offsets
//! are committed or read (`groups.rs`). Every call is synchronous and bounded by the
//! settings' timeout: an unreachable cluster is an error naming its address, never a hang.

mod consumer;
mod context;
mod errors;
mod fetch;
mod groups;
mod membership;
mod produce;
pub mod settings;
mod topics;
mod transaction;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kql_runtime::LogError;
use rdkafka::admin::AdminClient;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};

use crate::exec::log::Log;
pub use consumer::{Assignment, Polled, TopicConsumer};
use context::Context;
use errors::Failed;
pub use settings::{Guarantee, KafkaSettings};

/// A handle on the cluster: cheap to clone (a query's transaction keeps one, to read and
/// describe through while it writes in its transaction).
#[derive(Clone)]
pub struct KafkaLog(Arc<Shared>);

impl std::ops::Deref for KafkaLog {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    settings: KafkaSettings,
    context: Context,
    admin: AdminClient<Context>,
    /// A consumer without a group: metadata, watermarks, offsets by time.
    meta: BaseConsumer<Context>,
    producers: produce::Producers,
    readers: fetch::Readers,
    groups: groups::GroupClients,
    /// Partition counts seen in metadata (topics do not shrink; creation and deletion
    /// through this log update it).
    partition_counts: Mutex<HashMap<String, u32>>,
    /// Where the next record without a key goes, per the round-robin partitioner.
    round_robin: AtomicU32,
    /// Client properties set with `SET` in the session, over the settings' ones.
    session_properties: Mutex<BTreeMap<String, String>>,
    /// `processing.guarantee`: from the properties, then as the session sets it.
    guarantee: Mutex<Guarantee>,
}

/// Session properties that are kql's, not the client's: kql positions its readers itself
/// (`auto.offset.reset`), passes each write's acks to the producer of that level, and
/// chooses its producers by `processing.guarantee`.
const KQL_PROPERTIES: &[&str] = &["auto.offset.reset", "acks", "processing.guarantee"];

impl KafkaLog {
    /// Connects to the cluster and checks that it answers within the timeout.
    pub fn connect(settings: KafkaSettings) -> Result<KafkaLog, LogError> {
        if settings.bootstrap_servers.trim().is_empty() {
            return Err(LogError::InvalidConfig(
                "no Kafka bootstrap servers: give --bootstrap-servers HOST:PORT".into(),
            ));
        }
        let context = Context::default();
        let none = BTreeMap::new();
        let meta = create(
            &settings,
            context.clone(),
            &none,
            &[("enable.auto.commit", "false")],
        )?;
        let admin = create(&settings, context.clone(), &none, &[])?;
        let log = KafkaLog(Arc::new(Shared {
            guarantee: Mutex::new(settings.guarantee),
            producers: produce::Producers::default(),
            readers: fetch::Readers::default(),
            groups: groups::GroupClients::default(),
            partition_counts: Mutex::new(HashMap::new()),
            round_robin: AtomicU32::new(0),
            session_properties: Mutex::new(BTreeMap::new()),
            settings,
            context,
            admin,
            meta,
        }));
        log.meta
            .fetch_metadata(None, log.settings.timeout)
            .map_err(|e| log.failed().error(&e, "the cluster's metadata"))?;
        Ok(log)
    }

    pub fn settings(&self) -> &KafkaSettings {
        &self.settings
    }

    fn failed(&self) -> Failed<'_> {
        // librdkafka queues its log lines (a refused connection, a failed handshake) until
        // a poll serves them to the context, which keeps the last one for the message.
        let _ = self.meta.poll(Duration::ZERO);
        Failed {
            servers: &self.settings.bootstrap_servers,
            timeout_ms: self.settings.timeout_ms(),
            last_error: &self.context.last_error,
        }
    }

    /// Runs a request again while the cluster answers that it is not ready yet (a new
    /// topic's leader still being elected, a group coordinator still loading), up to the
    /// timeout.
    fn retrying<T>(&self, mut request: impl FnMut() -> KafkaResult<T>) -> KafkaResult<T> {
        let deadline = Instant::now() + self.settings.timeout;
        loop {
            match request() {
                Err(e) if errors::is_transient(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                result => return result,
            }
        }
    }

    /// Does the user set client property `name` (in the properties or with `SET`)?
    fn has_property(&self, name: &str) -> bool {
        self.settings.properties.contains_key(name)
            || self.session_properties.lock().unwrap().contains_key(name)
    }

    /// A new client of this log's cluster with its settings and `overrides`.
    fn client<T: FromClientConfigAndContext<Context>>(
        &self,
        overrides: &[(&str, &str)],
    ) -> Result<T, LogError> {
        let session = self.session_properties.lock().unwrap().clone();
        create(&self.settings, self.context.clone(), &session, overrides)
    }
}

impl Log for KafkaLog {
    fn is_durable(&self) -> bool {
        true
    }

    fn application_id(&self) -> &str {
        &self.settings.application_id
    }

    fn client_properties(&self) -> bool {
        true
    }

    fn shares_groups(&self) -> bool {
        true
    }

    fn join_group(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Box<dyn crate::exec::log::Membership>>, LogError> {
        let exactly_once = *self.guarantee.lock().unwrap() == Guarantee::ExactlyOnce;
        Ok(Some(Box::new(self.member(group, topics, exactly_once)?)))
    }

    fn set_client_property(&self, name: &str, value: &str) -> Result<bool, LogError> {
        if name == settings::GUARANTEE_PROPERTY {
            // Queries shared from now on take it.
            *self.guarantee.lock().unwrap() = Guarantee::parse(value)?;
            return Ok(false);
        }
        if settings::JAVA_ONLY.contains(&name)
            || KQL_PROPERTIES.contains(&name)
            || name.starts_with("ksql.")
            || name.starts_with("kql.")
        {
            return Ok(false);
        }
        if matches!(name, "bootstrap.servers" | "application.id" | "group.id") {
            return Err(LogError::InvalidConfig(format!(
                "'{name}' cannot change in a running session: give it on the command line"
            )));
        }
        // librdkafka checks the name and the value when a configuration is built.
        ClientConfig::new()
            .set(name, value)
            .create_native_config()
            .map_err(|e| LogError::InvalidConfig(format!("Kafka client property: {e}")))?;
        self.session_properties
            .lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
        // Clients made from now on take it; the current ones are let go (a write waits for
        // its deliveries, so none has records in flight).
        self.producers.clear();
        self.readers.clear();
        Ok(true)
    }
}

/// Creates a librdkafka client: the user's properties, then kql's `overrides` (which the
/// client's role needs, such as no automatic commits).
fn create<C: ClientContext, T: FromClientConfigAndContext<C>>(
    settings: &KafkaSettings,
    context: C,
    session: &BTreeMap<String, String>,
    overrides: &[(&str, &str)],
) -> Result<T, LogError> {
    let mut config = ClientConfig::new();
    // Warnings reach the context, which keeps the last one for error messages.
    config.set_log_level(RDKafkaLogLevel::Warning);
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("client.id", &settings.application_id)
        .set("socket.timeout.ms", settings.timeout_ms().to_string());
    for (k, v) in settings.properties.iter().chain(session) {
        config.set(k, v);
    }
    for (k, v) in overrides {
        config.set(*k, *v);
    }
    config.create_with_context(context).map_err(|e| match e {
        KafkaError::ClientConfig(_, why, key, value) => {
            LogError::InvalidConfig(format!("Kafka client property '{key}'='{value}': {why}"))
        }
        KafkaError::ClientCreation(why) => {
            LogError::InvalidConfig(format!("Kafka client properties: {why}"))
        }
        other => LogError::Client(other.to_string()),
    })
}
