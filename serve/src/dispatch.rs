//! From a request frame to a response frame: the header, the version check, the body's
//! codec, the handler. A frame the server cannot make sense of closes its connection, as
//! Kafka does; an ApiVersions request at a version above ours gets the version-0 answer
//! with UNSUPPORTED_VERSION and our versions, so the client can retry at one we speak.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use kafka_protocol::ResponseError;

use crate::state::Ctx;
use crate::versions::{api_versions_response, supported_versions};

pub enum Outcome {
    Respond(BytesMut),
    /// A Produce with acks=0: Kafka sends nothing back.
    NoResponse,
    Close(String),
}

pub async fn handle(ctx: &Ctx, mut frame: Bytes) -> Outcome {
    // frame.len() >= 8 (checked when the frame was read).
    let mut peek = &frame[..8];
    let raw_key = peek.get_i16();
    let version = peek.get_i16();
    let correlation_id = peek.get_i32();
    let Ok(api) = ApiKey::try_from(raw_key) else {
        return Outcome::Close(format!("unknown API key {raw_key}"));
    };
    let Some((lo, hi)) = supported_versions(api) else {
        return Outcome::Close(format!("{api:?} is not supported by kql serve"));
    };
    if !(lo..=hi).contains(&version) {
        if api == ApiKey::ApiVersions && version > hi {
            return unsupported_api_versions(correlation_id);
        }
        return Outcome::Close(format!(
            "{api:?} version {version} is not supported ({lo} to {hi})"
        ));
    }
    let header = match RequestHeader::decode(&mut frame, api.request_header_version(version)) {
        Ok(h) => h,
        Err(e) => return Outcome::Close(format!("a malformed request header: {e}")),
    };
    let request = match RequestKind::decode(api, &mut frame, version) {
        Ok(r) => r,
        Err(e) => return Outcome::Close(format!("a malformed {api:?} v{version} request: {e}")),
    };
    match crate::api::handle(ctx, &header, request).await {
        Some(response) => encode(api, version, correlation_id, &response),
        None => Outcome::NoResponse,
    }
}

fn encode(api: ApiKey, version: i16, correlation_id: i32, response: &ResponseKind) -> Outcome {
    let mut buf = BytesMut::new();
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let encoded = header
        .encode(&mut buf, api.response_header_version(version))
        .and_then(|()| response.encode(&mut buf, version));
    match encoded {
        Ok(()) => Outcome::Respond(buf),
        // A response this server built that the codec refuses is a bug of the server;
        // the client sees its connection close, the server goes on.
        Err(e) => Outcome::Close(format!(
            "cannot encode the {api:?} v{version} response: {e}"
        )),
    }
}

fn unsupported_api_versions(correlation_id: i32) -> Outcome {
    let response = ResponseKind::ApiVersions(api_versions_response(
        ResponseError::UnsupportedVersion.code(),
    ));
    encode(ApiKey::ApiVersions, 0, correlation_id, &response)
}
