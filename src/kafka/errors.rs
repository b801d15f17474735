//! librdkafka's errors as the log's errors (`LogError`): an unreachable cluster names its
//! address, refused credentials and missing ACLs say so, and the rest keep Kafka's text.

use kql_runtime::LogError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::context::LastError;

/// What a failed operation was about, for the message.
pub struct Failed<'a> {
    pub servers: &'a str,
    pub timeout_ms: u64,
    pub last_error: &'a LastError,
}

impl Failed<'_> {
    /// The log error for a librdkafka error of an operation on `subject` (a topic, a
    /// partition, a group).
    pub fn error(&self, e: &KafkaError, subject: &str) -> LogError {
        match e.rdkafka_error_code() {
            Some(code) => self.code(code, subject),
            None => LogError::Client(format!("{subject}: {e}")),
        }
    }

    pub fn code(&self, code: RDKafkaErrorCode, subject: &str) -> LogError {
        use RDKafkaErrorCode as C;
        match code {
            C::UnknownTopicOrPartition | C::UnknownTopic => LogError::UnknownTopic(subject.into()),
            C::TopicAlreadyExists => LogError::TopicExists(subject.into()),
            C::SaslAuthenticationFailed | C::Authentication | C::IllegalSASLState => {
                LogError::AuthenticationFailed(self.detail_or(code))
            }
            C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::TransactionalIdAuthorizationFailed => {
                LogError::NotAuthorized(format!("{subject}: {code}"))
            }
            C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::OperationTimedOut
            | C::RequestTimedOut
            | C::MessageTimedOut
            | C::Resolve
            | C::BrokerNotAvailable
            | C::NetworkException => self.unreachable(),
            _ => LogError::Client(format!("{subject}: {code}")),
        }
    }

    /// The cluster did not answer; if the client saw an authentication failure meanwhile,
    /// that is what the user needs to hear.
    pub fn unreachable(&self) -> LogError {
        let last = self.last_error.get();
        if let Some((Some(code), reason)) = &last {
            if is_authentication(*code) {
                return LogError::AuthenticationFailed(reason.clone());
            }
        }
        LogError::Unreachable {
            servers: self.servers.to_string(),
            timeout_ms: self.timeout_ms,
            detail: last
                .map(|(_, reason)| format!(" (last error: {reason})"))
                .unwrap_or_default(),
        }
    }

    fn detail_or(&self, code: RDKafkaErrorCode) -> String {
        self.last_error
            .get()
            .map(|(_, reason)| reason)
            .unwrap_or_else(|| code.to_string())
    }
}

/// Errors a cluster gives while it settles (a leader election, a coordinator loading, a
/// broker that died and left the metadata): the same request succeeds a moment later,
/// against another broker.
pub fn is_transient(e: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::NotLeaderForPartition
                | C::LeaderNotAvailable
                | C::NotCoordinator
                | C::CoordinatorLoadInProgress
                | C::CoordinatorNotAvailable
                | C::DestroyBroker
                | C::BrokerTransportFailure
                | C::RequestTimedOut
                | C::NetworkException
                | C::FencedLeaderEpoch
                | C::UnknownLeaderEpoch
                | C::NotController
                // librdkafka's metadata lacks a partition while its leader moves.
                | C::UnknownPartition
        )
    )
}

fn is_authentication(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::IllegalSASLState
    )
}
