//! voice: how long an audio message lasts, for the `seconds` WhatsApp shows on its bubble
//! before it is played (without them the recipient sees 0:00 until the file is downloaded). Read
//! from an Ogg Opus file — WhatsApp's own voice format — without decoding it, as players seek
//! to the end: its first page's `OpusHead` names the pre-skip, and its last page, which must end
//! the stream, carries the granule position, which counts 48 kHz samples (RFC 7845 §4). Only
//! those two pages are read (each checked by its CRC through the `ogg` crate's page parser), so
//! the work is the same for a 16 MB file as for a short one and may run on the event loop. A
//! file that is not one whole Ogg Opus stream (an MP3, a stream cut short, chained or
//! multiplexed with another) has no length rather than a wrong one. A pure function on bytes;
//! it must not decode audio.

use ogg::reading::PageParser;

/// An Ogg Opus granule position counts samples at 48 kHz, whatever the input's rate.
const OPUS_RATE: u64 = 48_000;
/// An Ogg page's fixed header (RFC 3533 §6).
const HEADER: usize = 27;
/// The longest Ogg page: the header, 255 lacing values and 255 segments of 255 bytes.
const MAX_PAGE: usize = HEADER + 255 + 255 * 255;
/// Header type flags.
const FIRST_PAGE: u8 = 0x02;
const LAST_PAGE: u8 = 0x04;
/// Candidates for the last page whose checksum is computed before giving up: bytes that look
/// like a page ending at the file's end are rare in real files; a crafted file gets no more.
const MAX_TAIL_TRIES: usize = 8;

/// How many whole seconds `file` lasts, rounded up (a 0.4 s message shows 0:01), when it is one
/// whole Ogg Opus stream; `None` for anything else.
pub fn seconds(file: &[u8]) -> Option<u32> {
    let head = Found::at(file, 0)?.checked()?;
    if head.flags & FIRST_PAGE == 0 {
        return None;
    }
    let pre_skip = opus_pre_skip(head.body)?;
    let last = last_page(file)?;
    if last.serial != head.serial || last.flags & LAST_PAGE == 0 {
        return None; // another stream's page, or the stream does not end here: cut short
    }
    let samples = last.granule.checked_sub(pre_skip)?;
    u32::try_from(samples.div_ceil(OPUS_RATE)).ok().filter(|&s| s > 0)
}

/// One Ogg page: its header fields and body.
struct Page<'a> {
    flags: u8,
    granule: u64,
    serial: u32,
    body: &'a [u8],
    /// Where the next page begins.
    end: usize,
}

/// A page found whole, its checksum not yet checked.
struct Found<'a> {
    page: Page<'a>,
    /// The crate's parser, holding the header and lacing the checksum covers.
    parser: PageParser,
}

impl<'a> Found<'a> {
    /// The page starting at `at` in `file`, if one is there whole.
    fn at(file: &'a [u8], at: usize) -> Option<Found<'a>> {
        let header: [u8; HEADER] = file.get(at..at.checked_add(HEADER)?)?.try_into().ok()?;
        if &header[..4] != b"OggS" {
            return None;
        }
        let (mut parser, lacing_len) = PageParser::new(header).ok()?;
        let lacing_at = at + HEADER;
        let body_at = lacing_at + lacing_len;
        let body_len = parser.parse_segments(file.get(lacing_at..body_at)?.to_vec());
        let body = file.get(body_at..body_at + body_len)?;
        let granule = u64::from_le_bytes(header[6..14].try_into().ok()?);
        let serial = u32::from_le_bytes(header[14..18].try_into().ok()?);
        let page = Page { flags: header[5], granule, serial, body, end: body_at + body_len };
        Some(Found { page, parser })
    }

    /// The page, if its checksum holds.
    fn checked(self) -> Option<Page<'a>> {
        self.parser.parse_packet_data(self.page.body.to_vec()).ok()?;
        Some(self.page)
    }
}

/// The page that ends exactly at the end of `file`, found by looking back from the end for its
/// capture pattern (a page is at most [`MAX_PAGE`] bytes); at most [`MAX_TAIL_TRIES`]
/// checksums computed.
fn last_page(file: &[u8]) -> Option<Page<'_>> {
    let from = file.len().saturating_sub(MAX_PAGE);
    (from..file.len())
        .rev()
        .filter_map(|at| Found::at(file, at))
        .filter(|found| found.page.end == file.len())
        .take(MAX_TAIL_TRIES)
        .find_map(Found::checked)
}

/// The pre-skip of an `OpusHead` packet (alone on the stream's first page): samples at 48 kHz
/// the decoder drops at the start.
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
        ogg_stream(opus_head(), packets, 0x5eed)
    }

    /// An `OpusHead` packet naming a pre-skip of 312 samples.
    fn opus_head() -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 1]); // version, one channel
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]); // gain, mapping family
        head
    }

    /// An Ogg stream numbered `serial` whose first packet is `head`, then a comment packet and
    /// `packets` more.
    fn ogg_stream(head: Vec<u8>, packets: u64, serial: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = PacketWriter::new(&mut out);
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
        let last_page_at = whole.windows(4).rposition(|w| w == b"OggS").expect("pages");
        let vorbis = ogg_stream([b"\x01vorbis".as_slice(), &[0; 23]].concat(), 350, 7);
        let chained = [whole.clone(), ogg_stream(opus_head(), 100, 0xbeef)].concat();
        let mut corrupt = whole.clone();
        *corrupt.last_mut().expect("bytes") ^= 0x40; // its last page's checksum fails
        let cases: [(&str, &[u8]); 7] = [
            ("an MP3", b"ID3\x03\0\0\0\0\0\x10rest of an mp3"),
            ("nothing", b""),
            ("cut in its last page", &whole[..whole.len() - 2]),
            ("cut where its last page begins", &whole[..last_page_at]),
            ("its last page corrupt", &corrupt),
            ("Ogg Vorbis", &vorbis),
            ("two streams chained", &chained),
        ];
        for (what, file) in cases {
            assert_eq!(seconds(file), None, "{what}");
        }
    }
}
