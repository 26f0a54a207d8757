//! X12 837 input: claims as billing systems already hold them. An interchange (ISA … IEA) is
//! tokenized with the separators its ISA declares ([`segments`]) and its 837P/837I
//! transaction sets are mapped, loop by loop, to claims that remember which segments they came
//! from ([`claim837`]), so findings can point back at the 837.

pub mod claim837;
pub mod locate;
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
    let segs = segments::split(text, seps);
    let claims = claim837::read(&segs, seps)?;
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
}
