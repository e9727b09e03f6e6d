//! voice: how long an audio message lasts, for the `seconds` WhatsApp shows on its bubble
//! before it is played (without them the recipient sees 0:00 until the file is downloaded). Read
//! from an Ogg Opus file — WhatsApp's own voice format — without decoding it: the last page's
//! granule position counts 48 kHz samples, less the pre-skip its `OpusHead` names (RFC 7845
//! §4). Other formats (an MP3, say) go without, as before. A pure function on bytes already in
//! memory; it must not decode audio.

use std::io::Cursor;

/// An Ogg Opus granule position counts samples at 48 kHz, whatever the input's rate.
const OPUS_RATE: u64 = 48_000;
/// A granule position that says no packet ends on its page.
const NO_GRANULE: u64 = u64::MAX;

/// How many whole seconds `file` lasts, rounded up (a 0.4 s message shows 0:01), when it is an
/// Ogg Opus stream that reads to its end; `None` for anything else.
pub fn seconds(file: &[u8]) -> Option<u32> {
    if !file.starts_with(b"OggS") {
        return None;
    }
    let mut reader = ogg::PacketReader::new(Cursor::new(file));
    let head = reader.read_packet().ok()??;
    let pre_skip = opus_pre_skip(&head.data)?;
    let mut last = None;
    loop {
        match reader.read_packet() {
            Ok(Some(p)) if p.stream_serial() == head.stream_serial() && p.absgp_page() != NO_GRANULE => {
                last = Some(p.absgp_page());
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return None, // cut short or corrupt: no length rather than a wrong one
        }
    }
    let samples = last?.checked_sub(pre_skip)?;
    let seconds = samples.div_ceil(OPUS_RATE);
    u32::try_from(seconds).ok().filter(|&s| s > 0)
}

/// The pre-skip of an `OpusHead` packet: samples at 48 kHz the decoder drops at the start.
fn opus_pre_skip(head: &[u8]) -> Option<u64> {
    let fields = head.strip_prefix(b"OpusHead")?;
    let pre_skip: [u8; 2] = fields.get(2..4)?.try_into().ok()?; // after version and channels
    Some(u64::from(u16::from_le_bytes(pre_skip)))
}

#[cfg(test)]
pub(crate) mod tests {
    use ogg::writing::{PacketWriteEndInfo, PacketWriter};

    use super::*;

    /// An Ogg Opus stream's shape: `OpusHead` (pre-skip 312), `OpusTags`, then `packets` audio
    /// packets of 20 ms (960 samples at 48 kHz) whose content does not matter here, pages
    /// ending every 50 packets, as an encoder writes them.
    pub(crate) fn opus_stream(packets: u64) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 1]); // version, one channel
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]); // gain, mapping family
        ogg_stream(head, packets)
    }

    /// An Ogg stream whose first packet is `head`, then a comment packet and `packets` more.
    fn ogg_stream(head: Vec<u8>, packets: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = PacketWriter::new(&mut out);
        let serial = 0x5eed;
        w.write_packet(head, serial, PacketWriteEndInfo::EndPage, 0).unwrap();
        w.write_packet(b"OpusTags\0\0\0\0\0\0\0\0".to_vec(), serial, PacketWriteEndInfo::EndPage, 0).unwrap();
        for i in 1..=packets {
            let end = match i {
                _ if i == packets => PacketWriteEndInfo::EndStream,
                _ if i % 50 == 0 => PacketWriteEndInfo::EndPage,
                _ => PacketWriteEndInfo::NormalPacket,
            };
            w.write_packet(vec![0xfc, (i % 251) as u8, 7], serial, end, 312 + i * 960).unwrap();
        }
        out
    }

    #[test]
    fn an_ogg_opus_voice_message_lasts_what_its_last_granule_says_rounded_up() {
        let cases = [(1, 1), (49, 1), (50, 1), (51, 2), (350, 7), (351, 8), (3_000, 60)];
        for (packets, expected) in cases {
            assert_eq!(seconds(&opus_stream(packets)), Some(expected), "{packets} packets of 20 ms");
        }
    }

    #[test]
    fn what_is_not_a_whole_ogg_opus_stream_has_no_length() {
        let whole = opus_stream(350);
        let vorbis = ogg_stream([b"\x01vorbis".as_slice(), &[0; 23]].concat(), 350);
        let cases: [(&str, &[u8]); 4] = [
            ("an MP3", b"ID3\x03\0\0\0\0\0\x10rest of an mp3"),
            ("nothing", b""),
            ("cut in its last page", &whole[..whole.len() - 2]),
            ("Ogg Vorbis", &vorbis),
        ];
        for (what, file) in cases {
            assert_eq!(seconds(file), None, "{what}");
        }
    }
}
