//! Compressed record batches from producers: gzip, snappy (Kafka's framing of it, or raw),
//! lz4 (frames) and zstd, as Kafka's `compression.type` names them. Every codec expands
//! into a buffer bounded by what is left of the request's allowance
//! (`PRODUCE_DECOMPRESSED_BYTES_MAX`), so a small frame cannot make the server hold an
//! unbounded expansion.

use std::io::Read;

use kafka_protocol::records::Compression;

/// Why a batch's records could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub enum Expand {
    /// More bytes than the allowance left.
    TooLarge,
    /// Not valid data of its codec.
    Corrupt,
}

/// The bytes a compressed batch's records expand to, at most `max` of them.
pub fn expand(codec: Compression, data: &[u8], max: usize) -> Result<Vec<u8>, Expand> {
    match codec {
        Compression::None => bounded(data, max),
        Compression::Gzip => bounded(flate2::read::MultiGzDecoder::new(data), max),
        Compression::Lz4 => bounded(lz4_flex::frame::FrameDecoder::new(data), max),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(data).map_err(|_| Expand::Corrupt)?;
            bounded(decoder, max)
        }
        Compression::Snappy => snappy(data, max),
    }
}

/// Reads `r` to its end, failing once it gives more than `max` bytes.
fn bounded(r: impl Read, max: usize) -> Result<Vec<u8>, Expand> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    r.take(limit)
        .read_to_end(&mut out)
        .map_err(|_| Expand::Corrupt)?;
    if out.len() > max {
        return Err(Expand::TooLarge);
    }
    Ok(out)
}

/// The header of the snappy framing Kafka's Java client writes (xerial's): a magic, then
/// two version numbers; blocks follow, each a big-endian length and raw snappy data.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_BYTES: usize = 16;

/// Snappy as producers send it: xerial-framed blocks (the Java client), or one raw block
/// (librdkafka may send either). Each block's length is read from its header and checked
/// before it is expanded.
fn snappy(data: &[u8], max: usize) -> Result<Vec<u8>, Expand> {
    let mut out = Vec::new();
    if !data.starts_with(XERIAL_MAGIC) {
        raw_snappy(data, max, &mut out)?;
        return Ok(out);
    }
    let mut rest = data.get(XERIAL_HEADER_BYTES..).ok_or(Expand::Corrupt)?;
    while !rest.is_empty() {
        let len = rest.get(..4).ok_or(Expand::Corrupt)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let block = rest.get(4..4 + len).ok_or(Expand::Corrupt)?;
        raw_snappy(block, max - out.len(), &mut out)?;
        rest = &rest[4 + len..];
    }
    Ok(out)
}

fn raw_snappy(block: &[u8], max: usize, out: &mut Vec<u8>) -> Result<(), Expand> {
    let len = snap::raw::decompress_len(block).map_err(|_| Expand::Corrupt)?;
    if len > max {
        return Err(Expand::TooLarge);
    }
    let at = out.len();
    out.resize(at + len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(block, &mut out[at..])
        .map_err(|_| Expand::Corrupt)?;
    out.truncate(at + n);
    Ok(())
}

/// `data` compressed as a producer does it (snappy in the Java client's framing: the
/// xerial header, then blocks of at most 32 KiB).
#[cfg(test)]
pub(crate) fn compress(codec: Compression, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match codec {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            let level = flate2::Compression::default();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
            gz.write_all(data).unwrap();
            gz.finish().unwrap()
        }
        Compression::Lz4 => {
            let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
            lz.write_all(data).unwrap();
            lz.finish().unwrap()
        }
        Compression::Zstd => zstd::stream::encode_all(data, 3).unwrap(),
        Compression::Snappy => {
            let mut xerial = XERIAL_MAGIC.to_vec();
            xerial.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
            for chunk in data.chunks(32 * 1024) {
                let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
                xerial.extend_from_slice(&(block.len() as u32).to_be_bytes());
                xerial.extend_from_slice(&block);
            }
            xerial
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> Vec<u8> {
        (0..20_000)
            .flat_map(|i| format!("record {i};").into_bytes())
            .collect()
    }

    #[test]
    fn every_codec_expands_what_its_library_compressed() {
        let plain = text();
        // librdkafka may send one raw snappy block instead of the Java framing.
        let raw = snap::raw::Encoder::new().compress_vec(&plain).unwrap();
        let compressed = |c| compress(c, &plain);
        for (codec, data) in [
            (Compression::Gzip, &compressed(Compression::Gzip)),
            (Compression::Lz4, &compressed(Compression::Lz4)),
            (Compression::Zstd, &compressed(Compression::Zstd)),
            (Compression::Snappy, &compressed(Compression::Snappy)),
            (Compression::Snappy, &raw),
        ] {
            assert_eq!(
                expand(codec, data, plain.len()).unwrap(),
                plain,
                "{codec:?}"
            );
            assert_eq!(
                expand(codec, data, plain.len() - 1),
                Err(Expand::TooLarge),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn a_small_input_that_expands_past_the_allowance_is_refused_without_expanding_it() {
        // 64 MiB of zeros compress to a few KiB.
        let zeros = vec![0u8; 64 << 20];
        let zs = zstd::stream::encode_all(&zeros[..], 3).unwrap();
        assert!(zs.len() < 64 << 10);
        assert_eq!(
            expand(Compression::Zstd, &zs, 1 << 20),
            Err(Expand::TooLarge)
        );
        let raw = snap::raw::Encoder::new().compress_vec(&zeros).unwrap();
        assert_eq!(
            expand(Compression::Snappy, &raw, 1 << 20),
            Err(Expand::TooLarge)
        );
    }

    #[test]
    fn garbage_is_corrupt_for_every_codec() {
        let junk = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\xff\xff\xff\xffjunk";
        for codec in [
            Compression::Gzip,
            Compression::Lz4,
            Compression::Zstd,
            Compression::Snappy,
        ] {
            assert_eq!(
                expand(codec, b"not compressed", 1 << 20),
                Err(Expand::Corrupt),
                "{codec:?}"
            );
            assert_eq!(
                expand(codec, junk, 1 << 20),
                Err(Expand::Corrupt),
                "{codec:?}"
            );
        }
    }
}
