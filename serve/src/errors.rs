//! The log's errors as Kafka error codes.

use kafka_protocol::ResponseError as E;
use kql_runtime::LogError;

pub fn code(e: &LogError) -> i16 {
    match e {
        LogError::UnknownTopic(_) | LogError::UnknownPartition { .. } => E::UnknownTopicOrPartition,
        LogError::TopicExists(_) => E::TopicAlreadyExists,
        LogError::InvalidPartitions(_) => E::InvalidPartitions,
        LogError::InvalidReplicationFactor { .. } => E::InvalidReplicationFactor,
        LogError::OffsetOutOfRange { .. } => E::OffsetOutOfRange,
        LogError::NotEnoughReplicas { .. } => E::NotEnoughReplicas,
        LogError::LeaderNotAvailable { .. } => E::LeaderNotAvailable,
        LogError::RecordTooLarge { .. } => E::MessageTooLarge,
        LogError::InvalidConfig(_) => E::InvalidConfig,
        LogError::Corrupt(_) => E::CorruptMessage,
        LogError::UnknownMember { .. } => E::UnknownMemberId,
        LogError::CommitFailed { .. } => E::IllegalGeneration,
        LogError::UnknownGroup(_) => E::GroupIdNotFound,
        LogError::NoOffsetForPartition { .. }
        | LogError::UnknownBroker { .. }
        | LogError::Io(_) => E::UnknownServerError,
        #[allow(unreachable_patterns)]
        _ => E::UnknownServerError,
    }
    .code()
}
