//! X12 837 input: claims as billing systems already hold them. An interchange (ISA … IEA) is
//! tokenized with the separators its ISA declares ([`segments`]) and its 837P/837I
//! transaction sets are mapped, loop by loop, to claims that remember which segments they came
//! from ([`claim837`]), so findings can point back at the 837.

pub mod claim837;
pub mod envelope;
pub mod locate;
pub mod remit835;
pub mod results;
pub mod segments;
pub mod write;

pub use claim837::{ClaimSpots, ReadClaim, Spot};

/// The most claims one interchange may hold in a unary call.
pub const MAX_CLAIMS: usize = 10_000;

/// A problem with the interchange itself (envelope or syntax): nothing in it is scrubbed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("segment {segment} ({id}{}): {message}", element_text(*element))]
pub struct X12Error {
    /// 1-based position of the segment in the file.
    pub segment: usize,
    /// The segment id.
    pub id: String,
    /// The element (1-based), 0 for the whole segment.
    pub element: usize,
    /// What is wrong.
    pub message: String,
}

fn element_text(element: usize) -> String {
    if element == 0 {
        String::new()
    } else {
        format!("{element:02}")
    }
}

impl X12Error {
    /// An envelope or syntax error at `segment`.
    pub fn envelope(segment: usize, id: &str, element: usize, message: impl Into<String>) -> Self {
        Self {
            segment,
            id: id.to_string(),
            element,
            message: message.into(),
        }
    }
}

/// True when `bytes` look like an X12 interchange (an ISA header after an optional
/// byte-order mark and whitespace), whatever the file is called.
pub fn sniff(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(16)]);
    segments::strip_preamble(&text).starts_with("ISA")
}

/// The remittances of an 835 file, with what was odd about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Remittances {
    /// One per transaction set, in file order.
    pub remittances: Vec<crate::remit::Remittance>,
    /// Trailer counts (SE01, GE01, IEA01) that disagree with the file: read anyway.
    pub warnings: Vec<X12Error>,
}

/// Reads every transaction set of an 835 file (an interchange, or a bare ST … SE).
pub fn read_835(bytes: &[u8]) -> Result<Remittances, X12Error> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        X12Error::envelope(
            0,
            "ISA",
            0,
            format!(
                "the file is not text (invalid UTF-8 at byte {})",
                e.valid_up_to()
            ),
        )
    })?;
    let text = segments::strip_preamble(text);
    let seps = remit835::separators(text)?;
    let mut reader = remit835::Reader::new(seps);
    let mut remittances = Vec::new();
    segments::each(text, seps, |seg| {
        remittances.extend(reader.push(seg)?);
        Ok(())
    })?;
    reader.finish()?;
    Ok(Remittances {
        remittances,
        warnings: reader.take_warnings(),
    })
}

/// Reads every claim of an 837 interchange.
pub fn read_837(bytes: &[u8]) -> Result<Vec<ReadClaim>, X12Error> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        X12Error::envelope(
            0,
            "ISA",
            0,
            format!(
                "the interchange is not text (invalid UTF-8 at byte {})",
                e.valid_up_to()
            ),
        )
    })?;
    let text = segments::strip_preamble(text);
    let seps = segments::separators(text)?;
    let mut reader = claim837::Reader::new(seps);
    let mut claims = Vec::new();
    segments::each(text, seps, |seg| {
        claims.extend(reader.push(seg)?);
        Ok(())
    })?;
    claims.extend(reader.finish()?);
    if claims.len() > MAX_CLAIMS {
        return Err(X12Error::envelope(
            0,
            "CLM",
            0,
            format!(
                "{} claims in one interchange; at most {MAX_CLAIMS} are read in one call (split the file or use the stream)",
                claims.len()
            ),
        ));
    }
    Ok(claims)
}

/// Reads an 837 interchange that arrives in pieces (a gRPC stream, a file read in blocks):
/// claims come out as they are completed, so memory stays bounded by the piece size and one
/// claim, whatever the size of the file.
#[derive(Default)]
pub struct StreamReader {
    splitter: segments::Splitter,
    reader: Option<claim837::Reader>,
}

/// Maps each segment with `reader` (made when the first segment brings the separators),
/// appending the claims it completes to `out`.
fn map_into<'r>(
    reader: &'r mut Option<claim837::Reader>,
    out: &'r mut Vec<ReadClaim>,
) -> impl FnMut(&segments::Segment<'_>, segments::Separators) -> Result<(), X12Error> + 'r {
    move |seg, seps| {
        let r = reader.get_or_insert_with(|| claim837::Reader::new(seps));
        out.extend(r.push(seg)?);
        Ok(())
    }
}

impl StreamReader {
    /// A reader before the ISA header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the next piece; the claims it completes are appended to `out`.
    pub fn feed(&mut self, piece: &[u8], out: &mut Vec<ReadClaim>) -> Result<(), X12Error> {
        self.splitter.feed(piece, map_into(&mut self.reader, out))
    }

    /// Ends the interchange: the last claims, or the error when it stops early.
    pub fn finish(self, out: &mut Vec<ReadClaim>) -> Result<(), X12Error> {
        let mut reader = self.reader;
        self.splitter.finish(map_into(&mut reader, out))?;
        match reader {
            Some(r) => {
                out.extend(r.finish()?);
                Ok(())
            }
            None => Err(X12Error::envelope(
                1,
                "ISA",
                0,
                "the interchange has no segments",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_shared_837_without_panicking() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/x12");
        if !root.exists() {
            println!("SKIPPED: ../shared/data not found");
            return;
        }
        let mut claims = 0;
        for dir in ["5010_837p", "5010_837i", "4010_837", "tr3_examples"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                match read_837(&bytes) {
                    Ok(c) => claims += c.len(),
                    Err(e) => println!("{}: {e}", path.display()),
                }
            }
        }
        assert!(claims > 20, "{claims} claims read");
    }

    #[test]
    fn read_in_pieces_of_any_size_gives_the_same_claims() {
        let isa = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250801*1200*^*00501*000000001*0*P*:~";
        let body = "GS*HC*S*R*20250801*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~HL*1**20*1~NM1*85*2*C*****XX*1234567893~HL*2*1*22*0~SBR*P*18*******MB~CLM*C1*100***11:B:1~HI*ABK:E119~LX*1~SV1*HC:99213:25*100*UN*1***1~DTP*472*D8*20250701~CLM*C2*50***11:B:1~HI*ABK:I10~LX*1~SV1*HC:99212*50*UN*1***1~DTP*472*D8*20250702~SE*16*0001~GE*1*1~IEA*1*000000001~";
        let text = format!("\u{feff}\n{isa}\r\n{}", body.replace('~', "~\r\n"));
        let whole = read_837(text.as_bytes()).unwrap();
        assert_eq!(whole.len(), 2);
        for size in [1, 2, 7, 64, 105, 106, 107, 4096] {
            let mut s = StreamReader::new();
            let mut got = Vec::new();
            for piece in text.as_bytes().chunks(size) {
                s.feed(piece, &mut got).unwrap();
            }
            s.finish(&mut got).unwrap();
            assert_eq!(got.len(), 2, "pieces of {size}");
            for (a, b) in got.iter().zip(&whole) {
                assert_eq!(a.claim, b.claim, "pieces of {size}");
                assert_eq!(a.spots.lines[0].service, b.spots.lines[0].service);
            }
        }
        // Cut short, the stream says so; a trailer with the wrong control number is named.
        let mut s = StreamReader::new();
        let mut got = Vec::new();
        s.feed(&text.as_bytes()[..text.len() - 40], &mut got)
            .unwrap();
        let e = s.finish(&mut got).unwrap_err();
        assert!(["SE", "IEA"].contains(&e.id.as_str()), "{e}");
        let bad = text.replace("SE*16*0001", "SE*16*0002");
        let e = read_837(bad.as_bytes()).unwrap_err();
        assert_eq!((e.id.as_str(), e.element), ("SE", 2), "{e}");
        let bad = text.replace("IEA*1*000000001", "IEA*1*000000002");
        assert_eq!(read_837(bad.as_bytes()).unwrap_err().id, "IEA");
        let bad = text.replace("GE*1*1", "GE*2*1");
        assert_eq!(read_837(bad.as_bytes()).unwrap_err().element, 1);
    }

    #[test]
    fn a_segment_without_terminators_is_refused_at_a_bound() {
        let isa = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250801*1200*^*00501*000000001*0*P*:~";
        let long = format!("{isa}GS*HC*{}", "A".repeat(1 << 20));
        let e = read_837(long.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("at most 65536 bytes"), "{e}");
        let mut s = StreamReader::new();
        let mut out = Vec::new();
        let e = long
            .as_bytes()
            .chunks(8192)
            .try_for_each(|p| s.feed(p, &mut out))
            .unwrap_err();
        assert!(
            e.to_string().contains("without a segment terminator"),
            "{e}"
        );
        let mut s = StreamReader::new();
        assert!(s.feed(&[0xff, 0x00, 0x13], &mut out).is_err());
    }
}
