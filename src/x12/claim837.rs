//! The loop-aware mapping of 837P (005010X222A1) and 837I (005010X223A2) transactions to
//! claimscrub claims, keeping where each claim, diagnosis and line came from so findings can
//! point back at segments. Loops are decided by the HL hierarchy (20 billing provider, 22
//! subscriber, 23 patient) and by qualifiers (NM1*85 billing provider, NM1*PR payer, NM1*82
//! rendering provider; an SBR after CLM opens 2320 other-subscriber data, whose NM1s are not
//! the claim's). Names, addresses and member ids are never read.

use super::X12Error;
use super::envelope::{Envelope, Step};
use super::segments::{Segment, Separators};
use crate::money::parse_decimal;
use crate::proto::v1 as pb;

/// Where something is in the transaction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spot {
    /// Loop id ("2300", "2400", "2010AA", ...).
    pub loop_id: &'static str,
    /// Segment id.
    pub segment: &'static str,
    /// 1-based position of the segment in its transaction set (ST = 1).
    pub position: usize,
}

/// Where one service line came from.
#[derive(Debug, Clone, Default)]
pub struct LineSpots {
    /// The LX segment.
    pub lx: Spot,
    /// The SV1 (professional) or SV2 (institutional) segment.
    pub service: Spot,
    /// The line's DTP*472, when present.
    pub date: Option<Spot>,
    /// REF*6R line item control number.
    pub control_number: String,
}

/// Where a claim's parts came from.
#[derive(Debug, Clone, Default)]
pub struct ClaimSpots {
    /// The transaction set's control number (ST02).
    pub transaction: String,
    /// The CLM segment.
    pub clm: Spot,
    /// NM1*85, the billing provider.
    pub billing: Option<Spot>,
    /// Each diagnosis: its HI segment and element position.
    pub diagnoses: Vec<(Spot, usize)>,
    /// Each line, in order.
    pub lines: Vec<LineSpots>,
}

/// One claim read from an 837: the claim, or why it could not be read; and where it was.
#[derive(Debug, Clone)]
pub struct ReadClaim {
    /// CLM01.
    pub claim_id: String,
    /// The claim, or the problem (naming the segment).
    pub claim: Result<pb::Claim, String>,
    /// Where its parts are.
    pub spots: ClaimSpots,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Professional,
    Institutional,
}

/// Context that outlives one claim: the billing provider (2000A), the subscriber and payer
/// (2000B), the patient (2000C).
#[derive(Default, Clone)]
struct Context {
    billing_npi: String,
    billing_taxonomy: String,
    billing_spot: Option<Spot>,
    payer_id: String,
    payer_type: i32,
    birth_date: String,
    sex: i32,
    submission_date: String,
    /// 2010BA NM109 when NM108 is MI: only for the patient key (never kept in the clear).
    member_id: String,
}

fn date(text: &str) -> Option<String> {
    let t = text.trim();
    (t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit())).then(|| {
        let mut d = String::with_capacity(10);
        d.push_str(&t[..4]);
        d.push('-');
        d.push_str(&t[4..6]);
        d.push('-');
        d.push_str(&t[6..]);
        d
    })
}

/// SBR09, the claim filing indicator: MA/MB Medicare, MC Medicaid, commercial plans, other.
fn payer_type(sbr09: &str) -> i32 {
    (match sbr09 {
        "MA" | "MB" | "16" => pb::PayerType::Medicare,
        "MC" => pb::PayerType::Medicaid,
        "CI" | "BL" | "HM" | "12" | "13" | "14" | "15" | "17" => pb::PayerType::Commercial,
        "" => pb::PayerType::Unspecified,
        _ => pb::PayerType::Other,
    }) as i32
}

fn sex(text: &str) -> i32 {
    (match text {
        "F" => pb::Sex::Female,
        "M" => pb::Sex::Male,
        _ => pb::Sex::Unknown,
    }) as i32
}

struct Building {
    claim: pb::Claim,
    spots: ClaimSpots,
    problem: Option<String>,
    in_line: bool,
    /// An SBR after CLM: 2320/2330 other-payer data until the next LX.
    other_payer: bool,
    statement: Option<(String, Option<String>)>,
}

impl Building {
    fn fail(&mut self, seg: &Segment, pos: usize, what: impl Into<String>) {
        if self.problem.is_none() {
            self.problem = Some(format!("{} at segment {pos}: {}", seg.id, what.into()));
        }
    }

    fn finish(mut self) -> ReadClaim {
        if self.problem.is_none() && self.claim.lines.is_empty() {
            self.problem = Some(format!(
                "CLM at segment {}: the claim has no service lines (2400 LX)",
                self.spots.clm.position
            ));
        }
        // Lines without their own DTP*472 take the statement period (837I DTP*434).
        if let Some((from, to)) = &self.statement {
            for l in &mut self.claim.lines {
                if l.service_date.is_empty() {
                    l.service_date = from.clone();
                    if l.service_date_to.is_empty()
                        && let Some(to) = to
                    {
                        l.service_date_to = to.clone();
                    }
                }
            }
        }
        ReadClaim {
            claim_id: self.claim.claim_id.clone(),
            claim: match self.problem {
                Some(p) => Err(p),
                None => Ok(self.claim),
            },
            spots: self.spots,
        }
    }
}

/// Reads one interchange's 837 transaction sets a segment at a time, so a file of any size
/// is read in bounded memory: each claim is handed back when the segment after it (the next
/// HL, CLM or the SE) shows that it is complete.
pub struct Reader {
    comp: u8,
    kind: Option<Kind>,
    envelope: Envelope,
    ctx: Context,
    level: &'static str,
    sub_loop: &'static str,
    current: Option<Building>,
}

impl Reader {
    /// A reader for an interchange with separators `seps`.
    pub fn new(seps: Separators) -> Self {
        Self {
            comp: seps.component,
            kind: None,
            envelope: Envelope::new("837", "an 837 claim"),
            ctx: Context::default(),
            level: "",
            sub_loop: "",
            current: None,
        }
    }

    /// Reads the next segment; returns the claim it completed, if any.
    pub fn push(&mut self, seg: &Segment) -> Result<Option<ReadClaim>, X12Error> {
        let comp = self.comp;
        let mut done = None;
        if self.envelope.push(seg)? == Step::Envelope {
            match seg.id {
                // The ISA version (ISA12) describes the envelope only; some 5010 senders keep
                // 00401 there, so the transaction version is judged from GS08 and ST03.
                "GS" if !seg.el(8).starts_with("005010") => {
                    return Err(X12Error::envelope(
                        seg.index,
                        "GS",
                        8,
                        format!(
                            "version {:?}: claimscrub reads 5010 837 files (005010X222A1 / 005010X223A2)",
                            seg.el(8)
                        ),
                    ));
                }
                "ST" => {
                    let version = seg.el(3);
                    self.kind = Some(if version.contains("X223") {
                        Kind::Institutional
                    } else if version.contains("X222") || version.is_empty() {
                        Kind::Professional
                    } else {
                        return Err(X12Error::envelope(
                            seg.index,
                            "ST",
                            3,
                            format!(
                                "implementation guide {version:?} is neither 837P (005010X222A1) nor 837I (005010X223A2)"
                            ),
                        ));
                    });
                    self.ctx = Context::default();
                }
                "SE" => {
                    done = self.current.take().map(Building::finish);
                    self.kind = None;
                }
                _ => {}
            }
            return Ok(done);
        }
        let pos = seg.index.saturating_sub(self.envelope.set_start()) + 1;
        let spot = |loop_id: &'static str, segment: &'static str| Spot {
            loop_id,
            segment,
            position: pos,
        };
        match seg.id {
            "BHT" => self.ctx.submission_date = date(seg.el(4)).unwrap_or_default(),
            "HL" => {
                if let Some(b) = self.current.take() {
                    done = Some(b.finish());
                }
                self.level = match seg.el(3) {
                    "20" => {
                        self.ctx.billing_npi.clear();
                        self.ctx.billing_taxonomy.clear();
                        self.ctx.billing_spot = None;
                        "2000A"
                    }
                    "22" => {
                        self.ctx.birth_date.clear();
                        self.ctx.member_id.clear();
                        self.ctx.sex = 0;
                        "2000B"
                    }
                    "23" => "2000C",
                    _ => "other",
                };
                self.sub_loop = "";
            }
            "PRV" if self.level == "2000A" && self.current.is_none() && seg.el(1) == "BI" => {
                self.ctx.billing_taxonomy = seg.el(3).to_string();
            }
            "SBR" => {
                if let Some(b) = self.current.as_mut() {
                    b.other_payer = true;
                } else if self.level == "2000B" {
                    self.ctx.payer_type = payer_type(seg.el(9).trim());
                }
            }
            "NM1" => {
                let q = seg.el(1);
                let npi = if seg.el(8) == "XX" { seg.el(9) } else { "" };
                match self.current.as_mut() {
                    None => match q {
                        "85" => {
                            self.ctx.billing_npi = npi.to_string();
                            self.ctx.billing_spot = Some(spot("2010AA", "NM1"));
                        }
                        "IL" => {
                            self.sub_loop = "2010BA";
                            if seg.el(8) == "MI" {
                                self.ctx.member_id = seg.el(9).trim().to_string();
                            }
                        }
                        "QC" => self.sub_loop = "2010CA",
                        "PR" => {
                            self.ctx.payer_id = seg.el(9).to_string();
                            self.sub_loop = "2010BB";
                        }
                        _ => self.sub_loop = "",
                    },
                    Some(b) if b.other_payer => {}
                    Some(b) => {
                        if q == "82" {
                            let p = pb::Provider {
                                npi: npi.to_string(),
                                taxonomy: String::new(),
                            };
                            if b.in_line {
                                if let Some(l) = b.claim.lines.last_mut() {
                                    l.rendering_provider = Some(p);
                                }
                            } else {
                                b.claim.rendering_provider = Some(p);
                            }
                        }
                    }
                }
            }
            "DMG" if self.current.is_none() => {
                // 2010BA subscriber or 2010CA patient: the patient's (2000C) wins.
                if self.sub_loop == "2010BA" || self.sub_loop == "2010CA" {
                    self.ctx.birth_date = date(seg.el(2)).unwrap_or_default();
                    self.ctx.sex = sex(seg.el(3));
                }
            }
            "CLM" => {
                if let Some(b) = self.current.take() {
                    done = Some(b.finish());
                }
                let k = self.kind.unwrap_or(Kind::Professional);
                let mut claim = pb::Claim {
                    claim_id: seg.el(1).trim().to_string(),
                    claim_type: (if k == Kind::Institutional {
                        pb::ClaimType::Institutional
                    } else {
                        pb::ClaimType::Professional
                    }) as i32,
                    payer: Some(pb::Payer {
                        payer_id: self.ctx.payer_id.clone(),
                        r#type: self.ctx.payer_type,
                    }),
                    patient: Some(pb::Patient {
                        birth_date: self.ctx.birth_date.clone(),
                        sex: self.ctx.sex,
                        member_id: self.ctx.member_id.clone(),
                    }),
                    billing_provider: Some(pb::Provider {
                        npi: self.ctx.billing_npi.clone(),
                        taxonomy: self.ctx.billing_taxonomy.clone(),
                    }),
                    submission_date: self.ctx.submission_date.clone(),
                    ..Default::default()
                };
                let facility = seg.comp(5, 1, comp);
                let frequency = seg.comp(5, 3, comp);
                claim.frequency_code = frequency.to_string();
                if k == Kind::Institutional {
                    claim.type_of_bill = format!("0{facility}{frequency}");
                } else {
                    claim.place_of_service = facility.to_string();
                }
                let mut b = Building {
                    claim,
                    spots: ClaimSpots {
                        transaction: self.envelope.set_control().to_string(),
                        clm: spot("2300", "CLM"),
                        billing: self.ctx.billing_spot,
                        ..Default::default()
                    },
                    problem: None,
                    in_line: false,
                    other_payer: false,
                    statement: None,
                };
                if b.claim.claim_id.is_empty() {
                    b.fail(seg, pos, "CLM01 (the claim id) is empty");
                }
                self.current = Some(b);
            }
            _ if self.current.is_none() => {}
            id => {
                let b = self.current.as_mut().expect("checked above");
                match id {
                    "REF" if !b.in_line && !b.other_payer && seg.el(1) == "G1" => {
                        b.claim.prior_authorization = seg.el(2).to_string();
                    }
                    "REF" if b.in_line && seg.el(1) == "6R" => {
                        if let Some(l) = b.spots.lines.last_mut() {
                            l.control_number = seg.el(2).to_string();
                        }
                    }
                    "CL1" if !b.in_line && !b.other_payer => {
                        b.claim.admission_type = seg.el(1).trim().to_string();
                        b.claim.admission_source = seg.el(2).trim().to_string();
                        b.claim.patient_status = seg.el(3).trim().to_string();
                    }
                    "HI" if !b.in_line && !b.other_payer => {
                        for (i, e) in seg.elements.iter().enumerate() {
                            let mut parts = e.split(char::from(comp));
                            let q = parts.next().unwrap_or("");
                            let code = parts.next().unwrap_or("").trim();
                            match q {
                                "ABK" | "ABF" | "BK" | "BF" => {
                                    b.claim.diagnoses.push(pb::Diagnosis {
                                        code: code.to_string(),
                                        // 837I: present on admission is component 9.
                                        present_on_admission: parts
                                            .nth(6)
                                            .unwrap_or("")
                                            .to_string(),
                                        // BK/BF: ICD-9-CM, kept and reported by the
                                        // icd10-validity edit, not a reading error.
                                        code_system: if q.starts_with('A') {
                                            String::new()
                                        } else {
                                            "icd9cm".to_string()
                                        },
                                    });
                                    b.spots.diagnoses.push((spot("2300", "HI"), i + 1));
                                }
                                _ => {}
                            }
                        }
                    }
                    "DTP" if !b.other_payer => {
                        let (from, to) = match seg.el(2) {
                            "D8" => (date(seg.el(3)), None),
                            "RD8" => {
                                let (a, z) = seg.el(3).split_once('-').unwrap_or(("", ""));
                                (date(a), date(z))
                            }
                            _ => (None, None),
                        };
                        match (seg.el(1), b.in_line) {
                            ("472", true) => match from {
                                Some(f) => {
                                    if let Some(l) = b.claim.lines.last_mut() {
                                        l.service_date = f;
                                        l.service_date_to = to.unwrap_or_default();
                                    }
                                    if let Some(l) = b.spots.lines.last_mut() {
                                        l.date = Some(spot("2400", "DTP"));
                                    }
                                }
                                None => b.fail(seg, pos, "DTP03 is not a CCYYMMDD date or range"),
                            },
                            ("434" | "472", false) => {
                                if let Some(f) = from {
                                    b.statement = Some((f, to));
                                }
                            }
                            _ => {}
                        }
                    }
                    "LX" => {
                        b.in_line = true;
                        b.other_payer = false;
                        let n = b.claim.lines.len() as u32 + 1;
                        b.claim.lines.push(pb::ServiceLine {
                            line_number: n,
                            ..Default::default()
                        });
                        b.spots.lines.push(LineSpots {
                            lx: spot("2400", "LX"),
                            ..Default::default()
                        });
                    }
                    "SV1" | "SV2" if b.in_line => {
                        let inst = id == "SV2";
                        let (code_el, charge_el, units_el) =
                            if inst { (2, 3, 5) } else { (1, 2, 4) };
                        let problem = {
                            let Some(l) = b.claim.lines.last_mut() else {
                                return Ok(done);
                            };
                            l.procedure_code = seg.comp(code_el, 2, comp).trim().to_string();
                            l.modifiers = (3..=6)
                                .map(|c| seg.comp(code_el, c, comp).trim())
                                .filter(|m| !m.is_empty())
                                .map(str::to_string)
                                .collect();
                            if inst {
                                l.revenue_code = seg.el(1).trim().to_string();
                            } else {
                                l.place_of_service = seg.el(5).trim().to_string();
                                l.diagnosis_pointers = seg
                                    .el(7)
                                    .split(char::from(comp))
                                    .filter_map(|p| p.trim().parse().ok())
                                    .collect();
                            }
                            let mut problem = None;
                            match parse_decimal(seg.el(charge_el), 2) {
                                Some(c) => l.charge_cents = c,
                                None => {
                                    problem = Some(format!(
                                        "{id}{charge_el:02} {:?} is not an amount",
                                        seg.el(charge_el)
                                    ))
                                }
                            }
                            match seg.el(units_el).trim().parse::<f64>() {
                                Ok(u) if u.is_finite() => l.units = u,
                                _ => {
                                    problem = problem.or(Some(format!(
                                        "{id}{units_el:02} {:?} is not a number of units",
                                        seg.el(units_el)
                                    )))
                                }
                            }
                            problem
                        };
                        if let Some(p) = problem {
                            b.fail(seg, pos, p);
                        }
                        if let Some(l) = b.spots.lines.last_mut() {
                            l.service = spot("2400", if inst { "SV2" } else { "SV1" });
                        }
                    }
                    "LIN" if b.in_line && seg.el(2) == "N4" => {
                        if let Some(l) = b.claim.lines.last_mut() {
                            l.ndc = seg.el(3).trim().to_string();
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(done)
    }

    /// Ends the interchange: the last claim, or the error when the file stops early.
    pub fn finish(mut self) -> Result<Option<ReadClaim>, X12Error> {
        self.envelope.finish()?;
        Ok(self.current.take().map(Building::finish))
    }
}
