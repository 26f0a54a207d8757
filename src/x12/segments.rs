//! X12 interchange tokenizer: separators read from the ISA header (ASC X12 005010 ISA: element
//! separator = 4th byte, repetition separator = ISA11, component separator = ISA16, segment
//! terminator = the byte after ISA16), segments split with their position in the file and in
//! their transaction set. Line breaks after a terminator, or as the terminator, are ignored; a
//! leading byte-order mark is skipped. No copies: segments and elements borrow the input.

use super::X12Error;

/// The separators of one interchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    /// Between elements (`*`).
    pub element: u8,
    /// Between components of a composite element (`:`).
    pub component: u8,
    /// Between repeats of an element (`^`), when the interchange declares one.
    pub repetition: Option<u8>,
    /// After each segment (`~`).
    pub segment: u8,
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Segment id (`CLM`).
    pub id: &'a str,
    /// Elements after the id: `elements[0]` is element 01.
    pub elements: Vec<&'a str>,
    /// 1-based position of the segment in the file.
    pub index: usize,
}

impl<'a> Segment<'a> {
    /// Element `n` (1-based, as X12 numbers them), or "" when absent.
    pub fn el(&self, n: usize) -> &'a str {
        n.checked_sub(1)
            .and_then(|i| self.elements.get(i))
            .copied()
            .unwrap_or("")
    }

    /// Component `c` (1-based) of element `n`, or "".
    pub fn comp(&self, n: usize, c: usize, sep: u8) -> &'a str {
        self.el(n)
            .split(char::from(sep))
            .nth(c.saturating_sub(1))
            .unwrap_or("")
    }
}

/// The ISA header is fixed width: 106 bytes with its terminator.
const ISA_LEN: usize = 106;

/// Reads the separators from the ISA header at the start of `text`.
pub fn separators(text: &str) -> Result<Separators, X12Error> {
    let b = text.as_bytes();
    if !text.starts_with("ISA") {
        return Err(X12Error::envelope(
            1,
            "ISA",
            0,
            "an X12 interchange starts with an ISA segment",
        ));
    }
    if b.len() < ISA_LEN {
        return Err(X12Error::envelope(
            1,
            "ISA",
            0,
            format!(
                "the ISA header is {ISA_LEN} characters long; the input has {}",
                b.len()
            ),
        ));
    }
    let element = b[3];
    if !text.is_char_boundary(ISA_LEN) || !element.is_ascii() {
        return Err(X12Error::envelope(
            1,
            "ISA",
            0,
            "the ISA header must be 106 plain ASCII characters",
        ));
    }
    // ISA has 16 elements; the component separator is ISA16, the byte before the terminator.
    let count = b[..ISA_LEN - 1].iter().filter(|c| **c == element).count();
    if count != 16 || b[ISA_LEN - 3] != element {
        return Err(X12Error::envelope(
            1,
            "ISA",
            0,
            "the ISA header does not have 16 fixed-width elements (is the file cut or re-wrapped?)",
        ));
    }
    let component = b[ISA_LEN - 2];
    let segment = b[ISA_LEN - 1];
    if !component.is_ascii() || !segment.is_ascii() {
        return Err(X12Error::envelope(
            1,
            "ISA",
            16,
            "the component and segment separators must be ASCII characters",
        ));
    }
    let isa11 = text
        .get(..ISA_LEN)
        .and_then(|h| h.split(char::from(element)).nth(11))
        .unwrap_or("");
    let repetition = match isa11.as_bytes() {
        [r] if !r.is_ascii_alphanumeric() => Some(*r),
        _ => None,
    };
    if [component, segment].contains(&element) || component == segment {
        return Err(X12Error::envelope(
            1,
            "ISA",
            16,
            "the element, component and segment separators must differ",
        ));
    }
    Ok(Separators {
        element,
        component,
        repetition,
        segment,
    })
}

/// The longest segment read. The longest 837 segments (an HI with 12 composites, an NTE)
/// are a few hundred bytes; anything near this is not an 837 (or has lost its terminators).
pub const MAX_SEGMENT: usize = 64 * 1024;

/// `raw` without the line breaks around it (byte-wise: faster than a char-set trim).
fn trim_breaks(raw: &str) -> &str {
    let b = raw.as_bytes();
    let start = b.iter().take_while(|c| matches!(c, b'\r' | b'\n')).count();
    let end = b.len()
        - b[start..]
            .iter()
            .rev()
            .take_while(|c| matches!(c, b'\r' | b'\n'))
            .count();
    // Both ends are next to ASCII bytes (or the ends of the text): character boundaries.
    &raw[start..end]
}

/// One segment's text (between terminators) as a segment numbered `index`, its elements
/// collected into `elements` (a buffer reused from segment to segment), or `None` for a blank
/// one (line breaks between segments).
fn segment<'a>(
    raw: &'a str,
    index: usize,
    seps: Separators,
    mut elements: Vec<&'a str>,
) -> Result<Option<Segment<'a>>, X12Error> {
    let s = trim_breaks(raw);
    if s.bytes().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    if s.len() > MAX_SEGMENT {
        return Err(X12Error::envelope(
            index,
            s.get(..3).unwrap_or("?"),
            0,
            format!(
                "a segment of {} bytes; segments are at most {MAX_SEGMENT} bytes (is the segment terminator {:?} missing?)",
                s.len(),
                char::from(seps.segment)
            ),
        ));
    }
    let mut parts = s.split(char::from(seps.element));
    let id = parts.next().unwrap_or("").trim();
    elements.clear();
    elements.extend(parts);
    Ok(Some(Segment {
        id,
        elements,
        index,
    }))
}

/// Calls `each` with every segment of `text` (starting at its ISA), in order, without
/// collecting them.
pub fn each<'a>(
    text: &'a str,
    seps: Separators,
    mut each: impl FnMut(&Segment<'a>) -> Result<(), X12Error>,
) -> Result<(), X12Error> {
    let mut buffer = Vec::with_capacity(32);
    let mut count = 0;
    for raw in text.split(char::from(seps.segment)) {
        if let Some(seg) = segment(raw, count + 1, seps, std::mem::take(&mut buffer))? {
            count += 1;
            each(&seg)?;
            buffer = seg.elements;
        }
    }
    Ok(())
}

/// Splits `text` (starting at its ISA) into segments.
pub fn split(text: &str, seps: Separators) -> Result<Vec<Segment<'_>>, X12Error> {
    let mut out = Vec::new();
    each(text, seps, |seg| {
        out.push(seg.clone());
        Ok(())
    })?;
    Ok(out)
}

/// Splits an interchange that arrives in pieces (a stream, a large file read in blocks) into
/// segments, holding at most one unfinished segment: memory stays bounded by the piece size
/// plus [`MAX_SEGMENT`], whatever the size of the file.
#[derive(Debug, Default)]
pub struct Splitter {
    pending: Vec<u8>,
    seps: Option<Separators>,
    count: usize,
}

impl Splitter {
    /// A splitter before the ISA header.
    pub fn new() -> Self {
        Self::default()
    }

    /// The separators, once the ISA header has been read.
    pub fn separators(&self) -> Option<Separators> {
        self.seps
    }

    /// Reads the next piece of the interchange; `each` gets every segment it completes.
    pub fn feed(
        &mut self,
        piece: &[u8],
        mut each: impl FnMut(&Segment<'_>, Separators) -> Result<(), X12Error>,
    ) -> Result<(), X12Error> {
        self.pending.extend_from_slice(piece);
        let Some(seps) = self.header(false)? else {
            return Ok(());
        };
        let mut start = 0;
        while let Some(len) = self.pending[start..]
            .iter()
            .position(|b| *b == seps.segment)
        {
            let end = start + len;
            self.emit(start, end, seps, &mut each)?;
            start = end + 1;
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_SEGMENT {
            return Err(X12Error::envelope(
                self.count + 1,
                "",
                0,
                format!(
                    "more than {MAX_SEGMENT} bytes without a segment terminator {:?} (is this an X12 file?)",
                    char::from(seps.segment)
                ),
            ));
        }
        Ok(())
    }

    /// Ends the input: the last segment when it has no terminator.
    pub fn finish(
        mut self,
        mut each: impl FnMut(&Segment<'_>, Separators) -> Result<(), X12Error>,
    ) -> Result<(), X12Error> {
        let Some(seps) = self.header(true)? else {
            return Err(X12Error::envelope(1, "ISA", 0, "the input is empty"));
        };
        let end = self.pending.len();
        self.emit(0, end, seps, &mut each)
    }

    /// The separators, reading them from the ISA header once it is all here (`last`: no more
    /// input will come).
    fn header(&mut self, last: bool) -> Result<Option<Separators>, X12Error> {
        if self.seps.is_some() {
            return Ok(self.seps);
        }
        // Byte-order mark and leading whitespace.
        let skip = if self.pending.starts_with("\u{feff}".as_bytes()) {
            3
        } else {
            0
        };
        let skip = skip
            + self.pending[skip..]
                .iter()
                .take_while(|b| blank(**b))
                .count();
        let head = &self.pending[skip..];
        if head.len() < ISA_LEN && !last && (head.len() < 3 || head.starts_with(b"ISA")) {
            return Ok(None);
        }
        let take = head.len().min(ISA_LEN);
        let text = std::str::from_utf8(&head[..take]).map_err(|_| {
            X12Error::envelope(
                1,
                "ISA",
                0,
                "the ISA header must be 106 plain ASCII characters",
            )
        })?;
        let seps = separators(text)?;
        self.pending.drain(..skip);
        self.seps = Some(seps);
        Ok(self.seps)
    }

    fn emit(
        &mut self,
        start: usize,
        end: usize,
        seps: Separators,
        each: &mut impl FnMut(&Segment<'_>, Separators) -> Result<(), X12Error>,
    ) -> Result<(), X12Error> {
        let raw = std::str::from_utf8(&self.pending[start..end]).map_err(|e| {
            X12Error::envelope(
                self.count + 1,
                "",
                0,
                format!(
                    "not text (invalid UTF-8 {} bytes into the segment)",
                    e.valid_up_to()
                ),
            )
        })?;
        if let Some(seg) = segment(raw, self.count + 1, seps, Vec::new())? {
            self.count += 1;
            each(&seg, seps)?;
        }
        Ok(())
    }
}

/// Whitespace before the ISA: ASCII blanks, including vertical tab.
fn blank(b: u8) -> bool {
    b.is_ascii_whitespace() || b == 0x0b
}

/// The interchange text without a leading byte-order mark or whitespace.
pub fn strip_preamble(text: &str) -> &str {
    text.trim_start_matches('\u{feff}')
        .trim_start_matches(|c: char| c.is_ascii() && blank(c as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250101*1200*^*00501*000000001*0*P*:~";

    #[test]
    fn separators_come_from_the_isa() {
        assert_eq!(ISA.len(), ISA_LEN);
        let s = separators(ISA).unwrap();
        assert_eq!(
            s,
            Separators {
                element: b'*',
                component: b':',
                repetition: Some(b'^'),
                segment: b'~'
            }
        );
        let other = ISA.replace('*', "|").replace(':', ">").replace('~', "\n");
        let s = separators(&other).unwrap();
        assert_eq!((s.element, s.component, s.segment), (b'|', b'>', b'\n'));
        let text = format!("{other}GS|HC\nST|837|0001\n");
        let segs = split(&text, s).unwrap();
        assert_eq!(segs[2].id, "ST");
        assert_eq!(segs[2].el(2), "0001");
        assert_eq!(segs[2].index, 3);
    }

    #[test]
    fn a_short_or_rewrapped_header_is_an_error_naming_the_isa() {
        let e = separators("ISA*00*x~").unwrap_err();
        assert!(e.to_string().contains("ISA"), "{e}");
        let e = separators("GS*HC~").unwrap_err();
        assert!(e.to_string().contains("starts with an ISA"), "{e}");
    }

    #[test]
    fn a_header_cut_inside_a_multibyte_character_is_an_error_not_a_panic() {
        let mut text = ISA[..104].to_string();
        text.push('é');
        text.push_str("GS*HC~");
        assert!(separators(&text).is_err());
    }

    #[test]
    fn composites_and_missing_elements() {
        let seps = separators(ISA).unwrap();
        let text = format!("{ISA}\r\nSV1*HC:99213:25*100**1~");
        let segs = split(&text, seps).unwrap();
        let sv1 = &segs[1];
        assert_eq!(sv1.comp(1, 2, b':'), "99213");
        assert_eq!(sv1.comp(1, 3, b':'), "25");
        assert_eq!(sv1.comp(1, 4, b':'), "");
        assert_eq!(sv1.el(3), "");
        assert_eq!(sv1.el(4), "1");
        assert_eq!(sv1.el(9), "");
    }
}
