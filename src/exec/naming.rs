//! The names kql gives what it keeps on a log: the command topic, persistent queries'
//! consumer groups and internal topics, transient queries' internal topics. They carry the
//! log's application id, so several applications share a Kafka cluster without seeing each
//! other's; the embedded log's single application ("default") keeps the names its data
//! directories have always had.

use super::log::DEFAULT_APPLICATION;

/// The topic recording the statements that changed the catalog (ksqlDB's command topic).
pub fn command_topic(app: &str) -> String {
    if app == DEFAULT_APPLICATION {
        "_kql_commands".to_string()
    } else {
        format!("_confluent-ksql-{app}_command_topic")
    }
}

/// The prefix of a persistent query's internal topics, as ksqlDB names them
/// (`..._query_<ID>-Aggregate-Materialize-changelog`).
pub fn query_prefix(app: &str, query_id: &str) -> String {
    format!("_confluent-ksql-{app}_query_{query_id}")
}

/// The consumer group of a persistent query: `<application id>-<query id>`.
pub fn query_group(app: &str, query_id: &str) -> String {
    if app == DEFAULT_APPLICATION {
        format!("kql_query_{query_id}")
    } else {
        format!("{app}-{query_id}")
    }
}

/// The prefix of a transient query's internal topics; `n` numbers the process's transient
/// queries. On a shared cluster the process id keeps two processes apart.
pub fn transient_prefix(app: &str, n: u64) -> String {
    if app == DEFAULT_APPLICATION {
        format!("_kql_transient_{n}")
    } else {
        format!("_confluent-ksql-{app}_transient_{}_{n}", std::process::id())
    }
}

/// Is this one of the topics kql names itself (command topic, internal topics), as
/// opposed to a topic a user declared?
pub fn is_internal(topic: &str) -> bool {
    topic.starts_with("_confluent-ksql-") || topic.starts_with("_kql")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_log_keeps_its_names_and_an_application_gets_its_own() {
        assert_eq!(command_topic("default"), "_kql_commands");
        assert_eq!(query_group("default", "CSAS_X_1"), "kql_query_CSAS_X_1");
        assert_eq!(
            command_topic("alerts"),
            "_confluent-ksql-alerts_command_topic"
        );
        assert_eq!(query_group("alerts", "CSAS_X_1"), "alerts-CSAS_X_1");
        assert_eq!(
            query_prefix("alerts", "CTAS_T_2"),
            "_confluent-ksql-alerts_query_CTAS_T_2"
        );
        assert!(transient_prefix("alerts", 3).starts_with("_confluent-ksql-alerts_transient_"));
        for app in ["default", "alerts"] {
            assert!(is_internal(&command_topic(app)));
            assert!(is_internal(&transient_prefix(app, 1)));
            assert!(is_internal(&query_prefix(app, "CSAS_X_1")));
        }
        assert!(!is_internal("readings"));
    }
}
