//! The envelope every X12 file shares: an interchange (ISA … IEA) holds functional groups
//! (GS … GE) that hold transaction sets (ST … SE). [`Envelope`] follows it a segment at a time
//! and checks what the trailers claim — SE01 segment counts, GE01 and IEA01 counts, SE02,
//! GE02 and IEA02 control numbers — so the readers of one transaction (837 claims, 835
//! remittances) see only their own segments, and a cut or spliced file is an error naming
//! the segment.

use super::X12Error;
use super::segments::Segment;

/// What a segment was to the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// An envelope segment (ISA, GS, ST, SE, GE, IEA, TA1), checked and taken.
    Envelope,
    /// A segment inside a transaction set, for the transaction's reader.
    Body,
}

/// Follows the envelope of one file.
#[derive(Debug)]
pub struct Envelope {
    /// The transaction set id the reader takes ("837", "835").
    set_id: &'static str,
    /// What that transaction is, for messages ("an 837 claim").
    set_name: &'static str,
    /// A lone ST … SE without ISA and GS is accepted.
    bare: bool,
    st_index: usize,
    st_control: String,
    in_set: bool,
    /// ISA13, once the ISA is read.
    interchange: Option<String>,
    /// The open functional group's GS06 and its transaction sets so far.
    group: Option<(String, usize)>,
    groups: usize,
    sets: usize,
    saw_iea: bool,
    last_index: usize,
    /// Trailer counts that disagree are warnings, not errors.
    lenient_counts: bool,
    warnings: Vec<X12Error>,
}

/// A trailer whose control number differs from its header's.
fn mismatch(seg: &Segment, element: usize, header: &str, expected: &str) -> X12Error {
    X12Error::envelope(
        seg.index,
        seg.id,
        element,
        format!(
            "control number {:?} does not match {header} {expected:?}",
            seg.el(element)
        ),
    )
}

/// A trailer count that differs from what was read.
fn miscount(seg: &Segment, what: &str, counted: usize) -> Result<(), X12Error> {
    if seg.el(1).trim().parse::<usize>().ok() == Some(counted) {
        return Ok(());
    }
    Err(X12Error::envelope(
        seg.index,
        seg.id,
        1,
        format!(
            "{}01 says {:?} {what}; there are {counted}",
            seg.id,
            seg.el(1)
        ),
    ))
}

impl Envelope {
    /// An envelope whose transaction sets are `set_id` (`set_name` in messages).
    pub fn new(set_id: &'static str, set_name: &'static str) -> Self {
        Self {
            set_id,
            set_name,
            bare: false,
            st_index: 0,
            st_control: String::new(),
            in_set: false,
            interchange: None,
            group: None,
            groups: 0,
            sets: 0,
            saw_iea: false,
            last_index: 0,
            lenient_counts: false,
            warnings: Vec::new(),
        }
    }

    /// Takes a trailer count (SE01, GE01, IEA01) that disagrees with what was read as a
    /// warning rather than an error: some payers' generators miscount, and an 835 that is
    /// otherwise whole is still what the payer paid. Control numbers must still match and
    /// every trailer must be there.
    pub fn lenient_counts(mut self) -> Self {
        self.lenient_counts = true;
        self
    }

    /// The count mismatches taken as warnings so far.
    pub fn take_warnings(&mut self) -> Vec<X12Error> {
        std::mem::take(&mut self.warnings)
    }

    fn count(&mut self, seg: &Segment, what: &str, counted: usize) -> Result<(), X12Error> {
        match miscount(seg, what, counted) {
            Err(e) if self.lenient_counts => {
                self.warnings.push(e);
                Ok(())
            }
            r => r,
        }
    }

    /// Also accepts transaction sets without ISA and GS around them (some payer portals
    /// hand out a bare ST … SE).
    pub fn allow_bare(mut self) -> Self {
        self.bare = true;
        self
    }

    /// True between an ST and its SE.
    pub fn in_set(&self) -> bool {
        self.in_set
    }

    /// The file position of the open transaction set's ST.
    pub fn set_start(&self) -> usize {
        self.st_index
    }

    /// The open transaction set's control number (ST02).
    pub fn set_control(&self) -> &str {
        &self.st_control
    }

    /// Takes the next segment.
    pub fn push(&mut self, seg: &Segment) -> Result<Step, X12Error> {
        self.last_index = seg.index;
        match seg.id {
            "ISA" => {
                if self.interchange.is_some() && !self.saw_iea {
                    return Err(X12Error::envelope(
                        seg.index,
                        "ISA",
                        0,
                        "an ISA before the previous interchange's IEA",
                    ));
                }
                self.interchange = Some(seg.el(13).trim().to_string());
                self.saw_iea = false;
                self.groups = 0;
            }
            "GS" => {
                if self.in_set || self.group.is_some() {
                    return Err(X12Error::envelope(
                        seg.index,
                        "GS",
                        0,
                        "a GS inside an open functional group (a GE is missing)",
                    ));
                }
                self.group = Some((seg.el(6).trim().to_string(), 0));
                self.groups += 1;
            }
            "ST" => {
                if self.in_set {
                    return Err(X12Error::envelope(
                        seg.index,
                        "ST",
                        0,
                        "an ST inside an open transaction set (an SE is missing)",
                    ));
                }
                if self.group.is_none() && !(self.bare && self.interchange.is_none()) {
                    return Err(X12Error::envelope(
                        seg.index,
                        "ST",
                        0,
                        "a transaction set outside a functional group (GS … GE)",
                    ));
                }
                if seg.el(1) != self.set_id {
                    return Err(X12Error::envelope(
                        seg.index,
                        "ST",
                        1,
                        format!("transaction set {:?} is not {}", seg.el(1), self.set_name),
                    ));
                }
                self.in_set = true;
                self.st_index = seg.index;
                self.st_control = seg.el(2).to_string();
            }
            "SE" => {
                if !self.in_set {
                    return Err(X12Error::envelope(seg.index, "SE", 0, "SE without an ST"));
                }
                self.count(seg, "segments", seg.index + 1 - self.st_index)?;
                if seg.el(2).trim() != self.st_control.trim() {
                    return Err(mismatch(seg, 2, "ST02", &self.st_control));
                }
                self.in_set = false;
                self.sets += 1;
                if let Some(g) = self.group.as_mut() {
                    g.1 += 1;
                }
            }
            "GE" => {
                let Some((control, sets)) = self.group.take() else {
                    return Err(X12Error::envelope(seg.index, "GE", 0, "GE without a GS"));
                };
                if self.in_set {
                    return Err(X12Error::envelope(
                        seg.index,
                        "GE",
                        0,
                        "the group ends inside a transaction set (an SE is missing)",
                    ));
                }
                if seg.el(2).trim() != control {
                    return Err(mismatch(seg, 2, "GS06", &control));
                }
                self.count(seg, "transaction sets", sets)?;
            }
            "IEA" => {
                let Some(control) = self.interchange.clone() else {
                    return Err(X12Error::envelope(
                        seg.index,
                        "IEA",
                        0,
                        "IEA without an ISA",
                    ));
                };
                if self.group.is_some() {
                    return Err(X12Error::envelope(
                        seg.index,
                        "IEA",
                        0,
                        "the interchange ends inside a functional group (a GE is missing)",
                    ));
                }
                self.saw_iea = true;
                if seg.el(2).trim() != control {
                    return Err(mismatch(seg, 2, "ISA13", &control));
                }
                let groups = self.groups;
                self.count(seg, "functional groups", groups)?;
            }
            "TA1" if !self.in_set => {}
            _ if !self.in_set => {
                return Err(X12Error::envelope(
                    seg.index,
                    seg.id,
                    0,
                    "segment outside a transaction set (ST ... SE)",
                ));
            }
            _ => return Ok(Step::Body),
        }
        Ok(Step::Envelope)
    }

    /// Ends the file: an error when it stops inside a transaction set or before its IEA.
    pub fn finish(&self) -> Result<(), X12Error> {
        if self.in_set {
            return Err(X12Error::envelope(
                self.last_index,
                "SE",
                0,
                "the last transaction set has no SE segment (is the file cut?)",
            ));
        }
        if self.interchange.is_some() && !self.saw_iea {
            return Err(X12Error::envelope(
                self.last_index,
                "IEA",
                0,
                "the interchange has no IEA trailer (is the file cut?)",
            ));
        }
        if self.group.is_some() {
            return Err(X12Error::envelope(
                self.last_index,
                "GE",
                0,
                "the functional group has no GE trailer (is the file cut?)",
            ));
        }
        if self.sets == 0 {
            return Err(X12Error::envelope(
                self.last_index,
                "ST",
                0,
                format!("the file holds no transaction set ({})", self.set_name),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::segments::{Separators, split};

    const SEPS: Separators = Separators {
        element: b'*',
        component: b':',
        repetition: None,
        segment: b'~',
    };

    fn run(text: &str, bare: bool) -> Result<Vec<Step>, X12Error> {
        let mut env = Envelope::new("835", "an 835 remittance");
        if bare {
            env = env.allow_bare();
        }
        let mut steps = Vec::new();
        for seg in split(text, SEPS)? {
            steps.push(env.push(&seg)?);
        }
        env.finish()?;
        Ok(steps)
    }

    #[test]
    fn trailers_are_checked() {
        let good = "ISA*1*2*3*4*5*6*7*8*9*10*11*12*77~GS*HP*a*b*c*d*9*X*005010X221A1~ST*835*1~BPR*I~SE*3*1~GE*1*9~IEA*1*77~";
        assert_eq!(
            run(good, false).unwrap(),
            [
                Step::Envelope,
                Step::Envelope,
                Step::Envelope,
                Step::Body,
                Step::Envelope,
                Step::Envelope,
                Step::Envelope
            ]
        );
        let e = run(&good.replace("SE*3*1", "SE*4*1"), false).unwrap_err();
        assert_eq!((e.segment, e.id.as_str(), e.element), (5, "SE", 1));
        let e = run(&good.replace("GE*1*9", "GE*1*8"), false).unwrap_err();
        assert!(e.message.contains("GS06"), "{e}");
        let e = run(&good.replace("IEA*1*77~", ""), false).unwrap_err();
        assert!(e.message.contains("no IEA"), "{e}");
        let e = run(&good.replace("ST*835", "ST*837"), false).unwrap_err();
        assert!(e.message.contains("not an 835"), "{e}");
    }

    #[test]
    fn a_bare_transaction_set_only_when_allowed() {
        let bare = "ST*835*1~BPR*I~SE*3*1~";
        assert!(run(bare, true).is_ok());
        let e = run(bare, false).unwrap_err();
        assert!(e.message.contains("outside a functional group"), "{e}");
        let e = run("ST*835*1~BPR*I~", true).unwrap_err();
        assert!(e.message.contains("no SE"), "{e}");
    }
}
