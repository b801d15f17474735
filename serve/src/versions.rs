//! The APIs and versions this server speaks, and the ApiVersions answer. Versions stop
//! below those that name topics by id (Fetch 13, Produce 13, OffsetCommit 9...) and below
//! the consumer-group protocol of KIP-848.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

/// (api, lowest version decoded, highest version).
const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 8),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
];

/// The versions of `api` this server accepts, if any.
pub fn supported_versions(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == api)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// The versions advertised: what is accepted, except Produce, advertised from version 0
/// as Kafka does (librdkafka turns features off when a broker's lowest Produce version is
/// above 0; no client sends a version below 3 to a broker that speaks 3).
fn advertised(api: ApiKey, lo: i16) -> i16 {
    if api == ApiKey::Produce {
        0
    } else {
        lo
    }
}

pub fn api_versions_response(error_code: i16) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.error_code = error_code;
    r.api_keys = SUPPORTED
        .iter()
        .map(|&(api, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = api as i16;
            v.min_version = advertised(api, lo);
            v.max_version = hi;
            v
        })
        .collect();
    r
}
