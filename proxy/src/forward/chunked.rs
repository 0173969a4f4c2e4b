//! Where a chunked message body ends (RFC 9112, section 7.1).
//!
//! The body is relayed as it is, chunk framing included; [`Chunked`] only
//! follows the framing across reads of any size to know when the last chunk
//! and the trailer section are through, so the connection can carry the next
//! message. For an HTTP/1.0 client, which cannot read chunks,
//! [`Chunked::decode`] gives the chunks' data alone.

/// A chunked body that breaks the framing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body")]
pub struct Malformed;

/// Position inside a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In a chunk-size line's hex digits; `digits` counts them.
    Size { size: u64, digits: u8 },
    /// In a chunk extension, up to the end of the line.
    Extension { size: u64 },
    /// After the size line's CR.
    SizeLf { size: u64 },
    /// In chunk data, this many bytes left.
    Data(u64),
    /// After chunk data, expecting CR.
    DataCr,
    /// After chunk data's CR.
    DataLf,
    /// At the start of a trailer line or the final empty line.
    LineStart,
    /// In a trailer field line.
    Trailer,
    /// After a trailer line's CR.
    TrailerLf,
    /// After the final empty line's CR.
    LastLf,
    /// The body is complete.
    Done,
}

/// Follows one chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunked {
    state: State,
}

impl Default for Chunked {
    fn default() -> Self {
        Self {
            state: State::Size { size: 0, digits: 0 },
        }
    }
}

impl Chunked {
    /// Whether the whole body has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Follows the framing through `data`; returns how many bytes of it belong
    /// to the body (fewer than all once the body ends inside `data`).
    pub fn advance(&mut self, data: &[u8]) -> Result<usize, Malformed> {
        self.follow(data, None)
    }

    /// As [`Chunked::advance`], and appends the chunks' data in `data` (no
    /// sizes, extensions or trailers) to `out`.
    pub fn decode(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<usize, Malformed> {
        self.follow(data, Some(out))
    }

    fn follow(&mut self, data: &[u8], mut out: Option<&mut Vec<u8>>) -> Result<usize, Malformed> {
        if self.is_done() {
            return Ok(0);
        }
        let mut at = 0;
        while at < data.len() {
            if let State::Data(left) = self.state {
                let take = left.min((data.len() - at) as u64);
                if let Some(out) = out.as_deref_mut() {
                    out.extend_from_slice(&data[at..at + take as usize]);
                }
                at += take as usize;
                self.state = match left - take {
                    0 => State::DataCr,
                    left => State::Data(left),
                };
                continue;
            }
            let byte = data[at];
            at += 1;
            self.state = match (self.state, byte) {
                (State::Size { size, digits }, _) if byte.is_ascii_hexdigit() => {
                    // 16 hex digits already hold every u64 length.
                    if digits >= 16 {
                        return Err(Malformed);
                    }
                    let digit = (byte as char).to_digit(16).unwrap_or(0);
                    State::Size {
                        size: size << 4 | u64::from(digit),
                        digits: digits + 1,
                    }
                }
                (State::Size { digits: 0, .. }, _) => return Err(Malformed),
                (State::Size { size, .. }, b';' | b' ' | b'\t') => State::Extension { size },
                (State::Size { size, .. } | State::Extension { size }, b'\r') => {
                    State::SizeLf { size }
                }
                (
                    State::Size { size, .. } | State::Extension { size } | State::SizeLf { size },
                    b'\n',
                ) => match size {
                    0 => State::LineStart,
                    size => State::Data(size),
                },
                (State::Extension { size }, _) => State::Extension { size },
                (State::DataCr, b'\r') => State::DataLf,
                (State::DataCr | State::DataLf, b'\n') => State::Size { size: 0, digits: 0 },
                (State::LineStart, b'\r') => State::LastLf,
                (State::LineStart | State::LastLf, b'\n') => {
                    self.state = State::Done;
                    return Ok(at);
                }
                (State::LineStart | State::Trailer, _) if byte != b'\r' && byte != b'\n' => {
                    State::Trailer
                }
                (State::Trailer, b'\r') => State::TrailerLf,
                (State::Trailer | State::TrailerLf, b'\n') => State::LineStart,
                _ => return Err(Malformed),
            };
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `body` in pieces cut at `cuts`; the bytes taken and whether done.
    fn follow(body: &[u8], cuts: &[usize]) -> Result<(usize, bool), Malformed> {
        let mut chunked = Chunked::default();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        points.push(0);
        points.push(body.len());
        points.sort_unstable();
        points.dedup();
        let mut taken = 0;
        for piece in points.windows(2) {
            let data = &body[piece[0]..piece[1]];
            let n = chunked.advance(data)?;
            taken += n;
            if n < data.len() {
                assert!(chunked.is_done(), "stopped early without finishing");
                break;
            }
        }
        Ok((taken, chunked.is_done()))
    }

    #[test]
    fn decoding_keeps_the_data_alone_across_any_cut() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-sum: 42\r\n\r\nnext";
        let end = body.len() - 4;
        for cut in 0..=end {
            let mut chunked = Chunked::default();
            let mut out = Vec::new();
            let first = chunked.decode(&body[..cut], &mut out).unwrap();
            assert_eq!(first, cut);
            let rest = chunked.decode(&body[cut..], &mut out).unwrap();
            assert_eq!(first + rest, end, "cut at {cut}");
            assert!(chunked.is_done());
            assert_eq!(out, b"hello world", "cut at {cut}");
        }
    }

    #[test]
    fn a_body_ends_after_the_last_chunk_and_the_empty_line() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\nGET / HTTP/1.1";
        assert_eq!(follow(body, &[]), Ok((body.len() - 14, true)));
    }

    #[test]
    fn trailers_are_part_of_the_body() {
        let body = b"3\r\nabc\r\n0\r\nx-checksum: 1\r\nx-more: 2\r\n\r\n";
        assert_eq!(follow(body, &[]), Ok((body.len(), true)));
    }

    #[test]
    fn bare_line_feeds_are_accepted() {
        let body = b"3\nabc\n0\n\n";
        assert_eq!(follow(body, &[]), Ok((body.len(), true)));
    }

    #[test]
    fn an_unfinished_body_is_not_done() {
        assert_eq!(follow(b"5\r\nhel", &[]), Ok((6, false)));
        assert_eq!(follow(b"0\r\n", &[]), Ok((3, false)));
    }

    #[test]
    fn broken_framing_is_malformed() {
        for body in [
            &b"x\r\n"[..],
            b"\r\n",
            b"3\r\nabcX",
            b"3\rX",
            b"11111111111111111\r\n",
        ] {
            assert_eq!(follow(body, &[]), Err(Malformed), "{body:?}");
        }
    }

    proptest! {
        #[test]
        fn any_cutting_gives_the_same_end(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..6),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut body = Vec::new();
            for chunk in &chunks {
                body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                body.extend_from_slice(chunk);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"0\r\n\r\n");
            let end = body.len();
            body.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            prop_assert_eq!(follow(&body, &cuts), Ok((end, true)));
        }
    }
}
