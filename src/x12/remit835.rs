//! X12 835 health care claim payment/advice (005010X221A1; 004010X091A1 files read alike, the
//! segments used here being the same) into [`Remittance`]s, a segment at a time.
//!
//! Read: BPR (payment), TRN (trace number), DTM*405, N1*PR / N1*PE with REF*2U (payer id),
//! CLP (claim: id = the 837's CLM01, status, charge, paid, patient responsibility), CAS at
//! claim and line level (up to six group/reason/amount/quantity triplets each), MOA and MIA
//! remark codes, DTM*232/233/050, SVC (code, modifiers, charge, paid, revenue code, units,
//! submitted code), DTM*472/150/151, REF*6R (line control number), AMT*B6 (allowed), LQ*HE
//! (remarks), PLB (provider-level adjustments). NM1 (patient, insured, provider names and
//! member ids) is deliberately not read: a remittance is learnt from without the person's
//! identity.

use sha2::{Digest, Sha256};

use super::X12Error;
use super::envelope::{Envelope, Step};
use super::segments::{Segment, Separators};
use crate::money::parse_decimal;
use crate::remit::{Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServicePayment};

/// The most claims one transaction set may hold.
pub const MAX_CLAIMS_PER_SET: usize = 100_000;

/// Where a segment belongs while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Header (before the first CLP).
    Header,
    /// Inside a claim (loop 2100), before its first SVC.
    Claim,
    /// Inside a service line (loop 2110).
    Service,
    /// Between claim groups (LX, TS3, TS2) or after the claims (PLB).
    Trailer,
}

/// Reads an 835 file's transaction sets; each [`Remittance`] is handed back at its SE.
pub struct Reader {
    seps: Separators,
    envelope: Envelope,
    version: String,
    current: Option<Remittance>,
    part: Part,
    party: String,
    hasher: Sha256,
}

/// "CCYYMMDD" as "YYYY-MM-DD"; "" for anything else.
fn date(text: &str) -> String {
    let t = text.trim();
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..])
    } else {
        String::new()
    }
}

/// Element `n` of `seg` as cents; an empty element is zero.
fn cents(seg: &Segment, n: usize) -> Result<i64, X12Error> {
    let t = seg.el(n).trim();
    if t.is_empty() {
        return Ok(0);
    }
    parse_decimal(t, 2)
        .ok_or_else(|| X12Error::envelope(seg.index, seg.id, n, format!("{t:?} is not an amount")))
}

/// Element `n` of `seg` as a number of units, or `None` when empty.
fn quantity(seg: &Segment, n: usize) -> Result<Option<f64>, X12Error> {
    let t = seg.el(n).trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<f64>()
        .ok()
        .filter(|q| q.is_finite())
        .map(Some)
        .ok_or_else(|| X12Error::envelope(seg.index, seg.id, n, format!("{t:?} is not a quantity")))
}

/// The CAS triplets of `seg` (CAS01 group, then reason/amount/quantity up to six times).
fn adjustments(seg: &Segment) -> Result<Vec<Adjustment>, X12Error> {
    let group = seg.el(1).trim().to_string();
    let mut out = Vec::new();
    for k in 0..6 {
        let at = 2 + 3 * k;
        let reason = seg.el(at).trim();
        if reason.is_empty() {
            continue;
        }
        out.push(Adjustment {
            group: group.clone(),
            reason: reason.to_string(),
            amount_cents: cents(seg, at + 1)?,
            quantity: quantity(seg, at + 2)?,
        });
    }
    if out.is_empty() {
        return Err(X12Error::envelope(
            seg.index,
            "CAS",
            2,
            "an adjustment without a reason code",
        ));
    }
    Ok(out)
}

/// The non-empty elements `from..=to` of `seg` (remark codes).
fn codes<'a>(seg: &'a Segment<'a>, from: usize, to: usize) -> impl Iterator<Item = String> + 'a {
    (from..=to)
        .map(|n| seg.el(n).trim())
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

impl Reader {
    /// A reader for a file with separators `seps`.
    pub fn new(seps: Separators) -> Self {
        Self {
            seps,
            envelope: Envelope::new("835", "an 835 remittance")
                .allow_bare()
                .lenient_counts(),
            version: String::new(),
            current: None,
            part: Part::Header,
            party: String::new(),
            hasher: Sha256::new(),
        }
    }

    /// Trailer counts that disagreed with the file (kept as warnings).
    pub fn take_warnings(&mut self) -> Vec<X12Error> {
        self.envelope.take_warnings()
    }

    /// Feeds the segment into the idempotency key, separators normalised.
    fn hash(&mut self, seg: &Segment) {
        self.hasher.update(seg.id.as_bytes());
        for e in &seg.elements {
            self.hasher.update(b"*");
            if self.seps.component == b':' {
                self.hasher.update(e.as_bytes());
            } else {
                let normal: Vec<u8> = e
                    .bytes()
                    .map(|b| if b == self.seps.component { b':' } else { b })
                    .collect();
                self.hasher.update(&normal);
            }
        }
        self.hasher.update(b"~");
    }

    /// Reads the next segment; returns the remittance it completed, if any.
    pub fn push(&mut self, seg: &Segment) -> Result<Option<Remittance>, X12Error> {
        if self.envelope.push(seg)? == Step::Envelope {
            match seg.id {
                "GS" => self.version = seg.el(8).trim().to_string(),
                "ST" => {
                    self.current = Some(Remittance {
                        version: self.version.clone(),
                        segment: seg.index,
                        ..Default::default()
                    });
                    self.part = Part::Header;
                    self.party.clear();
                    self.hasher = Sha256::new();
                }
                "SE" => {
                    let mut done = self.current.take();
                    if let Some(r) = done.as_mut() {
                        let hasher = std::mem::take(&mut self.hasher);
                        r.key = hex::encode(hasher.finalize());
                    }
                    return Ok(done);
                }
                _ => {}
            }
            return Ok(None);
        }
        self.hash(seg);
        let comp = self.seps.component;
        let Some(r) = self.current.as_mut() else {
            return Ok(None);
        };
        match (seg.id, self.part) {
            ("CLP", _) => {
                if r.claims.len() >= MAX_CLAIMS_PER_SET {
                    return Err(X12Error::envelope(
                        seg.index,
                        "CLP",
                        0,
                        format!(
                            "more than {MAX_CLAIMS_PER_SET} claims in one transaction set; split the file"
                        ),
                    ));
                }
                let claim_id = seg.el(1).trim();
                if claim_id.is_empty() {
                    return Err(X12Error::envelope(
                        seg.index,
                        "CLP",
                        1,
                        "a claim without its id (CLP01)",
                    ));
                }
                r.claims.push(ClaimPayment {
                    claim_id: claim_id.to_string(),
                    status: seg.el(2).trim().to_string(),
                    charge_cents: cents(seg, 3)?,
                    paid_cents: cents(seg, 4)?,
                    patient_responsibility_cents: cents(seg, 5)?,
                    filing_indicator: seg.el(6).trim().to_string(),
                    payer_claim_number: seg.el(7).trim().to_string(),
                    facility_type: seg.el(8).trim().to_string(),
                    frequency: seg.el(9).trim().to_string(),
                    segment: seg.index,
                    ..Default::default()
                });
                self.part = Part::Claim;
            }
            ("SVC", Part::Claim | Part::Service) => {
                let claim = r.claims.last_mut().expect("a claim is open");
                let composite = |n: usize, c: usize| seg.comp(n, c, comp).trim().to_string();
                claim.services.push(ServicePayment {
                    qualifier: composite(1, 1),
                    code: composite(1, 2),
                    modifiers: (3..=6)
                        .map(|c| composite(1, c))
                        .filter(|m| !m.is_empty())
                        .collect(),
                    charge_cents: cents(seg, 2)?,
                    paid_cents: cents(seg, 3)?,
                    revenue_code: seg.el(4).trim().to_string(),
                    units: quantity(seg, 5)?.unwrap_or(1.0),
                    submitted_code: composite(6, 2),
                    segment: seg.index,
                    ..Default::default()
                });
                self.part = Part::Service;
            }
            ("CAS", Part::Claim) => {
                let claim = r.claims.last_mut().expect("a claim is open");
                claim.adjustments.extend(adjustments(seg)?);
            }
            ("CAS", Part::Service) => {
                let line = service(r);
                line.adjustments.extend(adjustments(seg)?);
            }
            ("MOA", Part::Claim) => {
                let claim = r.claims.last_mut().expect("a claim is open");
                claim.remarks.extend(codes(seg, 3, 7));
            }
            ("MIA", Part::Claim) => {
                let claim = r.claims.last_mut().expect("a claim is open");
                claim
                    .remarks
                    .extend(codes(seg, 5, 5).chain(codes(seg, 20, 24)));
            }
            ("DTM", Part::Claim) => {
                let claim = r.claims.last_mut().expect("a claim is open");
                match seg.el(1) {
                    "232" => claim.statement_from = date(seg.el(2)),
                    "233" => claim.statement_to = date(seg.el(2)),
                    "050" => claim.received_date = date(seg.el(2)),
                    _ => {}
                }
            }
            ("DTM", Part::Service) => {
                let line = service(r);
                match seg.el(1) {
                    "472" | "150" => line.service_date = date(seg.el(2)),
                    "151" => line.service_date_to = date(seg.el(2)),
                    _ => {}
                }
            }
            ("REF", Part::Service) if seg.el(1) == "6R" => {
                service(r).line_control = seg.el(2).trim().to_string();
            }
            ("AMT", Part::Service) if seg.el(1) == "B6" => {
                service(r).allowed_cents = Some(cents(seg, 2)?);
            }
            ("LQ", Part::Service) if seg.el(1) == "HE" => {
                service(r).remarks.extend(codes(seg, 2, 2));
            }
            ("PLB", _) => {
                self.part = Part::Trailer;
                for k in 0..6 {
                    let at = 3 + 2 * k;
                    let reason = seg.comp(at, 1, comp).trim();
                    if reason.is_empty() {
                        continue;
                    }
                    r.provider_adjustments.push(ProviderAdjustment {
                        provider_id: seg.el(1).trim().to_string(),
                        fiscal_date: date(seg.el(2)),
                        reason: reason.to_string(),
                        reference: seg.comp(at, 2, comp).trim().to_string(),
                        amount_cents: cents(seg, at + 1)?,
                    });
                }
            }
            ("BPR", Part::Header) => {
                r.handling = seg.el(1).trim().to_string();
                r.total_paid_cents = cents(seg, 2)?;
                r.payment_method = seg.el(4).trim().to_string();
                r.payment_date = date(seg.el(16));
            }
            ("TRN", Part::Header) => {
                r.trace_number = seg.el(2).trim().to_string();
                if r.payer_id.is_empty() {
                    r.payer_id = seg.el(3).trim().to_string();
                }
            }
            ("DTM", Part::Header) if seg.el(1) == "405" => r.production_date = date(seg.el(2)),
            ("N1", Part::Header) => {
                self.party = seg.el(1).trim().to_string();
                match self.party.as_str() {
                    "PR" => r.payer_name = seg.el(2).trim().to_string(),
                    "PE" => r.payee_id = seg.el(4).trim().to_string(),
                    _ => {}
                }
            }
            ("REF", Part::Header) if self.party == "PR" && seg.el(1) == "2U" => {
                r.payer_id = seg.el(2).trim().to_string();
            }
            // A new header number group (LX, TS3, TS2): the claim before it is over.
            ("LX", Part::Claim | Part::Service) => self.part = Part::Trailer,
            _ => {}
        }
        Ok(None)
    }

    /// Ends the file: an error when it stops inside a transaction set or envelope.
    pub fn finish(&mut self) -> Result<(), X12Error> {
        self.envelope.finish()
    }
}

/// The open service line of the last claim.
fn service(r: &mut Remittance) -> &mut ServicePayment {
    r.claims
        .last_mut()
        .and_then(|c| c.services.last_mut())
        .expect("a service line is open")
}

/// The separators of an 835 file: from its ISA, or for a bare transaction set (no envelope)
/// the element separator after "ST", the segment terminator after ST02 and ':' between
/// components.
pub fn separators(text: &str) -> Result<Separators, X12Error> {
    if text.starts_with("ISA") {
        return super::segments::separators(text);
    }
    let b = text.as_bytes();
    if !text.starts_with("ST") || b.len() < 4 || b[2].is_ascii_alphanumeric() {
        return Err(X12Error::envelope(
            1,
            "ISA",
            0,
            "an 835 file starts with an ISA segment (or, bare, with ST*835)",
        ));
    }
    let element = b[2];
    let after = b[3..]
        .iter()
        .position(|c| !c.is_ascii_alphanumeric() && *c != element && *c != b' ')
        .map(|i| b[3 + i])
        .ok_or_else(|| X12Error::envelope(1, "ST", 0, "the ST segment has no terminator"))?;
    let segment = if after == b'\r' { b'\n' } else { after };
    Ok(Separators {
        element,
        component: if element == b':' { b'>' } else { b':' },
        repetition: None,
        segment,
    })
}
