//! Synthetic media files: [`Blob`]s made of shared byte segments and seeded pseudo-random
//! filler, generated chunk by chunk each time they are read (a 90 MB document costs a few
//! hundred KiB), and real PNGs ([`PngParts`]) whose variants share one buffer of pixels.

use bytes::{Bytes, BytesMut};
use sha2::{Digest as _, Sha256};

/// Bytes per chunk a blob is read in: a multiple of 3, so whole chunks encode to base64
/// without padding.
pub(super) const CHUNK: usize = 3 * 64 * 1024;

/// One part of a blob.
#[derive(Debug, Clone)]
enum Segment {
    Bytes(Bytes),
    /// `len` pseudo-random bytes; byte `i` is byte `i % 8` of `splitmix64(seed + i / 8)`.
    Random {
        seed: u64,
        len: u64,
    },
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Bytes(b) => b.len() as u64,
            Segment::Random { len, .. } => *len,
        }
    }

    /// Bytes `from..from + n` of the segment.
    fn read(&self, from: u64, n: usize) -> Bytes {
        match self {
            Segment::Bytes(b) => b.slice(from as usize..from as usize + n),
            Segment::Random { seed, .. } => {
                let mut out = Vec::with_capacity(n);
                let (mut i, end) = (from, from + n as u64);
                while i < end {
                    let word = splitmix64(seed.wrapping_add(i / 8)).to_le_bytes();
                    let (at, take) = ((i % 8) as usize, (8 - i % 8).min(end - i) as usize);
                    out.extend_from_slice(&word[at..at + take]);
                    i += take as u64;
                }
                out.into()
            }
        }
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A synthetic file: segments read one after the other.
#[derive(Debug, Clone)]
pub struct Blob {
    segments: Vec<Segment>,
}

impl Blob {
    /// `size` bytes: `head` (a magic-number header), then seeded random bytes.
    pub fn with_head(head: &[u8], size: u64, seed: u64) -> Blob {
        assert!(size >= head.len() as u64);
        let filler = Segment::Random { seed, len: size - head.len() as u64 };
        Blob { segments: vec![Segment::Bytes(Bytes::copy_from_slice(head)), filler] }
    }

    /// An MP4 video (ISO base media, major brand `isom`) of `size` bytes.
    pub fn mp4(size: u64, seed: u64) -> Blob {
        let head = [&[0, 0, 0, 0x20][..], b"ftypisom", &[0, 0, 2, 0], b"isomiso2avc1mp41"].concat();
        Blob::with_head(&head, size, seed)
    }

    /// An Ogg Opus voice note of `size` bytes (one Ogg page with an OpusHead header).
    pub fn ogg(size: u64, seed: u64) -> Blob {
        let head = [
            &b"OggS"[..],
            &[0, 2],
            &[0; 8],
            &[0x11, 0x22, 0x33, 0x44],
            &[0; 4],
            &[0; 4],
            &[1, 19],
            b"OpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00",
        ]
        .concat();
        Blob::with_head(&head, size, seed)
    }

    /// A PDF document of `size` bytes.
    pub fn pdf(size: u64, seed: u64) -> Blob {
        Blob::with_head(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", size, seed)
    }

    /// A valid PNG (8-bit RGB, random pixels, stored deflate blocks).
    pub fn png(width: u32, height: u32, seed: u64) -> Blob {
        PngParts::new(width, height, seed).blob(b"")
    }

    /// A valid lossless WebP (RGBA, pixels from `seed`), as a sticker might be sent.
    pub fn webp(width: u32, height: u32, seed: u64) -> Blob {
        let pixels: Vec<u8> = (0..u64::from(width) * u64::from(height) * 4)
            .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 8) as u8)
            .collect();
        let mut out = Vec::new();
        image_webp::WebPEncoder::new(&mut out)
            .encode(&pixels, width, height, image_webp::ColorType::Rgba8)
            .expect("a WebP is encoded");
        Blob::with_head(&out, out.len() as u64, 0)
    }

    pub fn len(&self) -> u64 {
        self.segments.iter().map(Segment::len).sum()
    }

    /// Length of the blob as base64 (with padding).
    pub fn base64_len(&self) -> u64 {
        self.len().div_ceil(3) * 4
    }

    /// The blob's bytes, [`CHUNK`] at a time (shared segments are not copied).
    pub fn chunks(&self) -> Chunks {
        Chunks { blob: self.clone(), segment: 0, offset: 0 }
    }

    /// Lowercase hex SHA-256 of the bytes.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for c in self.chunks() {
            h.update(&c);
        }
        hex(&h.finalize())
    }

    /// All of it in one buffer (small blobs only).
    pub fn to_vec(&self) -> Vec<u8> {
        self.chunks().flat_map(|c| c.to_vec()).collect()
    }
}

/// Reads a blob chunk by chunk.
pub struct Chunks {
    blob: Blob,
    segment: usize,
    offset: u64,
}

impl Iterator for Chunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let mut out = BytesMut::new();
        while out.len() < CHUNK {
            let seg = self.blob.segments.get(self.segment)?;
            let left = seg.len() - self.offset;
            if left == 0 {
                self.segment += 1;
                self.offset = 0;
                if self.segment == self.blob.segments.len() {
                    break;
                }
                continue;
            }
            let n = left.min((CHUNK - out.len()) as u64) as usize;
            let piece = seg.read(self.offset, n);
            self.offset += n as u64;
            if out.is_empty() && n == CHUNK {
                return Some(piece);
            }
            out.extend_from_slice(&piece);
        }
        (!out.is_empty()).then(|| out.freeze())
    }
}

/// The parts of a PNG shared by every variant: signature and IHDR, then IDAT and IEND.
/// Variants differ by a `tEXt` chunk between the two, so many distinct 16 MB images share
/// one buffer of pixels.
#[derive(Debug, Clone)]
pub struct PngParts {
    head: Bytes,
    pixels: Bytes,
}

impl PngParts {
    pub fn new(width: u32, height: u32, seed: u64) -> PngParts {
        let row = width as usize * 3 + 1;
        let raw_len = row * height as usize;
        let random = Segment::Random { seed, len: raw_len as u64 }.read(0, raw_len);
        // Each row starts with filter type 0 (None).
        let mut raw = random.to_vec();
        for r in 0..height as usize {
            raw[r * row] = 0;
        }
        let mut zlib = Vec::with_capacity(raw_len + raw_len / 65535 * 5 + 16);
        zlib.extend_from_slice(&[0x78, 0x01]);
        let blocks = raw.chunks(65_535).collect::<Vec<_>>();
        for (i, block) in blocks.iter().enumerate() {
            zlib.push(u8::from(i + 1 == blocks.len()));
            let len = block.len() as u16;
            zlib.extend_from_slice(&len.to_le_bytes());
            zlib.extend_from_slice(&(!len).to_le_bytes());
            zlib.extend_from_slice(block);
        }
        zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut head = b"\x89PNG\r\n\x1a\n".to_vec();
        head.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
        let mut pixels = png_chunk(b"IDAT", &zlib);
        pixels.extend_from_slice(&png_chunk(b"IEND", b""));
        PngParts { head: head.into(), pixels: pixels.into() }
    }

    /// The PNG with a `tEXt` comment `text` (none when empty).
    pub fn blob(&self, text: &[u8]) -> Blob {
        let mut segments = vec![Segment::Bytes(self.head.clone())];
        if !text.is_empty() {
            segments.push(Segment::Bytes(png_chunk(b"tEXt", &[b"Comment\0", text].concat()).into()));
        }
        segments.push(Segment::Bytes(self.pixels.clone()));
        Blob { segments }
    }
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(data.len() + 12);
    c.extend_from_slice(&(data.len() as u32).to_be_bytes());
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let crc = crc32(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

fn crc32(data: &[u8]) -> u32 {
    let table: Vec<u32> =
        (0..256u32).map(|n| (0..8).fold(n, |c, _| if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 })).collect();
    !data.iter().fold(!0u32, |c, &b| table[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8))
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5_552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    (b << 16) | a
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
