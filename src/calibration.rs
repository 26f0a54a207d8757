//! What a rule's findings were worth, learnt from what payers did: for each rule × payer (and
//! rule × payer type, the fallback), how often the lines it flagged — and that were sent
//! anyway — were denied with an adjustment reason of the rule's family, as a Beta-Binomial
//! posterior whose prior is centred on the rule's declared probability; each rule's precision
//! and recall against real denials of its family; and the denials no rule predicted, grouped
//! by reason, as candidates for new rules. Pure: the rows come from the outcome store.
//!
//! Reason codes and groups are X12's Claim Adjustment Reason Codes (CARC) and group codes
//! (CO contractual obligation, OA other adjustment, PI payer initiated, PR patient
//! responsibility, CR correction; x12.org/codes/claim-adjustment-reason-codes).

pub mod diagram;

use std::collections::{BTreeMap, HashMap};

use arc_swap::ArcSwap;
use statrs::distribution::{Beta, ContinuousCDF};

use crate::outcomes::{AdjustmentRow, FlagRow, OutcomeError, OutcomeStore};

/// How calibration weighs evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The prior's weight in pseudo-observations: the declared probability counts as this
    /// many remits.
    pub prior_weight: f64,
    /// Remits of flagged lines a rule × payer needs before its calibrated probability is used.
    pub min_remits: u64,
    /// The central credible interval reported (0.9 = from the 5th to the 95th percentile).
    pub interval: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            prior_weight: 20.0,
            min_remits: 30,
            interval: 0.9,
        }
    }
}

/// Adjustment reasons that are ordinary pricing, not a denial: 45 charge exceeds the fee
/// schedule, 42 charges exceed the fee schedule (older), 253 sequestration, 23 impact of prior
/// payer adjudication, 94 processed in excess of charges, 44 prompt-pay discount, 131
/// claim-specific negotiated discount, 144 incentive adjustment, 59 processed under the
/// multiple or concurrent procedure rules.
const ROUTINE: &[&str] = &["45", "42", "253", "23", "94", "44", "131", "144", "59"];

/// Reasons that deny for the same cause, by what the X12 CARC list says they mean.
const FAMILIES: &[&[&str]] = &[
    // Bundling: included in another service (97), NCCI / procedure-pair edits (B15, 236,
    // 234), not separately payable (231).
    &["97", "B15", "236", "234", "231"],
    // Units and frequency: exceeds the number allowed (151, 119 benefit maximum, 35 lifetime
    // maximum, 273 coverage limit).
    &["151", "119", "35", "273"],
    // Medical necessity and diagnosis/procedure consistency (50, 11, 167, 56, 57, 150, 152,
    // 9 age, 7 sex, 10 procedure/gender).
    &["50", "11", "167", "56", "57", "150", "152", "9", "7", "10"],
    // Missing or invalid information (16, 4 modifier, 5 place of service, 6 age, 8 provider
    // type, 181 invalid procedure code, 182 modifier invalid, 183 referring provider, 189
    // not otherwise classified, 146 diagnosis invalid for the date, 125 submission error).
    &[
        "16", "4", "5", "6", "8", "181", "182", "183", "189", "146", "125",
    ],
    // Time limit for filing has expired.
    &["29"],
    // Duplicate claim/service.
    &["18"],
    // Authorization and referral (197, 15, 62, 198).
    &["197", "15", "62", "198"],
    // Non-covered (96, 204, 49 routine/preventive, 258).
    &["96", "204", "49", "258"],
];

/// The reason of a predicted CARC ("CO-97" → "97").
pub fn reason(carc: &str) -> &str {
    carc.trim().rsplit('-').next().unwrap_or("").trim()
}

/// The reasons that count as the same denial as `carc` (at least its own reason).
pub fn family(carc: &str) -> Vec<&str> {
    let r = reason(carc);
    FAMILIES
        .iter()
        .find(|f| f.contains(&r))
        .map_or_else(|| vec![r], |f| f.to_vec())
}

/// True when an adjustment denies (is not patient responsibility or ordinary pricing).
pub fn is_denial(group: &str, reason: &str) -> bool {
    matches!(group.trim(), "CO" | "OA" | "PI") && !ROUTINE.contains(&reason.trim())
}

/// The posterior of a rule × payer: mean and the central credible interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posterior {
    /// Posterior mean.
    pub mean: f64,
    /// Lower end of the credible interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The Beta posterior of `denied` of `flagged` with a prior of `weight` pseudo-observations
/// centred on `declared`.
pub fn posterior(
    declared: f64,
    weight: f64,
    flagged: u64,
    denied: u64,
    interval: f64,
) -> Posterior {
    let p = declared.clamp(0.001, 0.999);
    let w = weight.max(0.1);
    let a = p * w + denied as f64;
    let b = (1.0 - p) * w + flagged.saturating_sub(denied) as f64;
    let mean = a / (a + b);
    let tail = (1.0 - interval.clamp(0.0, 0.999)) / 2.0;
    match Beta::new(a, b) {
        Ok(beta) => Posterior {
            mean,
            low: beta.inverse_cdf(tail),
            high: beta.inverse_cdf(1.0 - tail),
        },
        Err(_) => Posterior {
            mean,
            low: mean,
            high: mean,
        },
    }
}

/// One rule × payer (or rule × payer type when `payer_id` is empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The rule.
    pub rule_id: String,
    /// The payer, empty for the payer-type row.
    pub payer_id: String,
    /// The payer type.
    pub payer_type: String,
    /// The mean probability the rule's findings declared.
    pub declared: f64,
    /// Flagged lines (or claims, for claim-level findings) that were remitted.
    pub flagged: u64,
    /// Of those, denied with a reason of the rule's family.
    pub denied: u64,
    /// The posterior.
    pub posterior: Posterior,
    /// True when `flagged` reaches the evidence threshold: scoring would use the posterior.
    pub enough: bool,
}

/// One rule's accuracy against real denials of its family.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    /// The rule.
    pub rule_id: String,
    /// Its family's reasons.
    pub family: Vec<String>,
    /// Flags remitted.
    pub flagged: u64,
    /// Flags denied with a reason of the family.
    pub denied: u64,
    /// Denials of the family on remitted, scrubbed claims.
    pub family_denials: u64,
    /// Of those, on a line (or claim) the rule flagged.
    pub caught: u64,
    /// Of `flagged`, flags made while the rule ran in shadow (not in the answer).
    pub shadow_flagged: u64,
    /// Of those, denied with a reason of the family: what the rule would have caught.
    pub shadow_denied: u64,
}

impl Accuracy {
    /// denied / flagged (0 without flags).
    pub fn precision(&self) -> f64 {
        ratio(self.denied, self.flagged)
    }

    /// caught / family denials (0 without denials).
    pub fn recall(&self) -> f64 {
        ratio(self.caught, self.family_denials)
    }

    /// Shadow flags on lines the payer did not deny for the family: what the rule would have
    /// wrongly flagged.
    pub fn shadow_wrong(&self) -> u64 {
        self.shadow_flagged - self.shadow_denied
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Denials no finding predicted, for one group-reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpredicted {
    /// "CO-16".
    pub carc: String,
    /// Adjustments.
    pub count: u64,
    /// Their total, cents.
    pub amount_cents: i64,
    /// Of `count`, on a line (or claim) a rule in shadow flagged with a reason of the family:
    /// what promoting it would have predicted.
    pub shadow_caught: u64,
}

/// One score band of the reliability diagram: claims whose denial risk at their newest scrub
/// fell in `[low, high)` (the last band includes 1), and how many the payer denied.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Lower bound of the band.
    pub low: f64,
    /// Upper bound of the band.
    pub high: f64,
    /// Remitted claims in the band.
    pub claims: u64,
    /// Mean predicted denial risk of those claims.
    pub predicted: f64,
    /// Of those, claims with at least one denial adjustment (any line or the claim).
    pub denied: u64,
}

impl Band {
    /// denied / claims (0 without claims).
    pub fn observed(&self) -> f64 {
        ratio(self.denied, self.claims)
    }
}

/// Score bands of the reliability diagram: ten, 0.1 wide.
pub const BANDS: usize = 10;

/// Predicted against observed denial rates by band of denial risk: `risks` are each remitted
/// claim's risk at its newest scrub, `adjustments` its remittances' adjustments.
pub fn reliability(risks: &[(String, f64)], adjustments: &[AdjustmentRow]) -> Vec<Band> {
    let denied: std::collections::HashSet<&str> = adjustments
        .iter()
        .filter(|a| is_denial(&a.group, &a.reason))
        .map(|a| a.claim_id.as_str())
        .collect();
    let mut bands: Vec<(u64, f64, u64)> = vec![(0, 0.0, 0); BANDS];
    for (claim, risk) in risks {
        let risk = risk.clamp(0.0, 1.0);
        let i = ((risk * BANDS as f64) as usize).min(BANDS - 1);
        bands[i].0 += 1;
        bands[i].1 += risk;
        bands[i].2 += u64::from(denied.contains(claim.as_str()));
    }
    bands
        .into_iter()
        .enumerate()
        .map(|(i, (claims, sum, denied))| Band {
            low: i as f64 / BANDS as f64,
            high: (i + 1) as f64 / BANDS as f64,
            claims,
            predicted: if claims == 0 {
                0.0
            } else {
                sum / claims as f64
            },
            denied,
        })
        .collect()
}

/// The calibration report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Rule × payer rows, then rule × payer type rows, by rule.
    pub cells: Vec<Cell>,
    /// Per rule.
    pub rules: Vec<Accuracy>,
    /// Denials no finding predicted, most frequent first.
    pub unpredicted: Vec<Unpredicted>,
    /// Remitted claims that had been scrubbed.
    pub claims: u64,
    /// Predicted against observed denial rates by band of denial risk.
    pub reliability: Vec<Band>,
}

/// True when adjustment `a` concerns line `line` (its line_number; 0 = the whole claim): a
/// claim-level adjustment concerns every line.
fn on_line(a: &AdjustmentRow, line: u32) -> bool {
    if line == 0 {
        return true;
    }
    match &a.line {
        None => true,
        // REF*6R echoes the line's control number; when it is the line number, it says which
        // line; otherwise (empty, or the billing system's own id) the SVC's position does.
        Some((seq, control)) => match control.trim().parse::<u32>() {
            Ok(n) => n == line,
            Err(_) => seq + 1 == line,
        },
    }
}

/// Builds the report from the store's rows.
pub fn report(flags: &[FlagRow], adjustments: &[AdjustmentRow], settings: Settings) -> Report {
    let mut by_claim: HashMap<&str, Vec<&AdjustmentRow>> = HashMap::new();
    for a in adjustments {
        by_claim.entry(a.claim_id.as_str()).or_default().push(a);
    }
    let mut flags_by_claim: HashMap<&str, Vec<&FlagRow>> = HashMap::new();
    for f in flags {
        flags_by_claim
            .entry(f.claim_id.as_str())
            .or_default()
            .push(f);
    }
    // (rule, payer id or "", payer type) → (declared sum, flagged, denied)
    let mut cells: BTreeMap<(String, String, String), (f64, u64, u64)> = BTreeMap::new();
    let mut rules: BTreeMap<String, Accuracy> = BTreeMap::new();
    for f in flags {
        let fam = family(&f.flag.carc);
        let denied = by_claim.get(f.claim_id.as_str()).is_some_and(|adjs| {
            adjs.iter().any(|a| {
                on_line(a, f.flag.line)
                    && is_denial(&a.group, &a.reason)
                    && fam.contains(&a.reason.trim())
            })
        });
        for payer in [f.payer_id.clone(), String::new()] {
            let c = cells
                .entry((f.flag.rule_id.clone(), payer, f.payer_type.clone()))
                .or_default();
            c.0 += f.flag.declared;
            c.1 += 1;
            c.2 += u64::from(denied);
        }
        let r = rules
            .entry(f.flag.rule_id.clone())
            .or_insert_with(|| Accuracy {
                rule_id: f.flag.rule_id.clone(),
                family: fam.iter().map(|s| (*s).to_string()).collect(),
                flagged: 0,
                denied: 0,
                family_denials: 0,
                caught: 0,
                shadow_flagged: 0,
                shadow_denied: 0,
            });
        r.flagged += 1;
        r.denied += u64::from(denied);
        if f.flag.shadow {
            r.shadow_flagged += 1;
            r.shadow_denied += u64::from(denied);
        }
    }
    let mut unpredicted: BTreeMap<String, (u64, i64, u64)> = BTreeMap::new();
    for a in adjustments
        .iter()
        .filter(|a| is_denial(&a.group, &a.reason))
    {
        let reason = a.reason.trim();
        let claim_flags = flags_by_claim.get(a.claim_id.as_str());
        let flagged_here = |rule: &str| {
            claim_flags.is_some_and(|fs| {
                fs.iter()
                    .any(|f| f.flag.rule_id == rule && on_line(a, f.flag.line))
            })
        };
        for r in rules.values_mut() {
            if r.family.iter().any(|x| x == reason) {
                r.family_denials += 1;
                r.caught += u64::from(flagged_here(&r.rule_id));
            }
        }
        // Predicted: a finding in the answer (not a shadow one) named a reason of the family.
        let predicted_by = |shadow: bool| {
            claim_flags.is_some_and(|fs| {
                fs.iter().any(|f| {
                    f.flag.shadow == shadow
                        && on_line(a, f.flag.line)
                        && family(&f.flag.carc).contains(&reason)
                })
            })
        };
        if !predicted_by(false) {
            let u = unpredicted
                .entry(format!("{}-{reason}", a.group.trim()))
                .or_default();
            u.0 += 1;
            u.1 += a.amount_cents;
            u.2 += u64::from(predicted_by(true));
        }
    }
    let mut unpredicted: Vec<Unpredicted> = unpredicted
        .into_iter()
        .map(|(carc, (count, amount_cents, shadow_caught))| Unpredicted {
            carc,
            count,
            amount_cents,
            shadow_caught,
        })
        .collect();
    unpredicted.sort_by(|a, b| b.count.cmp(&a.count).then(a.carc.cmp(&b.carc)));
    let mut cells: Vec<Cell> = cells
        .into_iter()
        .map(
            |((rule_id, payer_id, payer_type), (sum, flagged, denied))| {
                let declared = sum / flagged.max(1) as f64;
                Cell {
                    posterior: posterior(
                        declared,
                        settings.prior_weight,
                        flagged,
                        denied,
                        settings.interval,
                    ),
                    enough: flagged >= settings.min_remits,
                    rule_id,
                    payer_id,
                    payer_type,
                    declared,
                    flagged,
                    denied,
                }
            },
        )
        .collect();
    cells.sort_by(|a, b| {
        (
            &a.rule_id,
            a.payer_id.is_empty(),
            &a.payer_id,
            &a.payer_type,
        )
            .cmp(&(
                &b.rule_id,
                b.payer_id.is_empty(),
                &b.payer_id,
                &b.payer_type,
            ))
    });
    Report {
        cells,
        rules: rules.into_values().collect(),
        unpredicted,
        claims: by_claim.len().max(flags_by_claim.len()) as u64,
        reliability: Vec::new(),
    }
}

/// The report over everything `store` holds.
pub fn from_store(store: &dyn OutcomeStore, settings: Settings) -> Result<Report, OutcomeError> {
    let mut flags = Vec::new();
    store.flags(&mut |f| flags.push(f))?;
    let mut adjustments = Vec::new();
    store.adjustments(&mut |a| adjustments.push(a))?;
    let mut risks = Vec::new();
    store.claim_risks(&mut |claim, risk| risks.push((claim, risk)))?;
    let mut r = report(&flags, &adjustments, settings);
    r.reliability = reliability(&risks, &adjustments);
    Ok(r)
}

/// The calibrated probabilities in force: the report's cells with enough evidence, by rule
/// then payer id (or payer type).
#[derive(Debug, Default)]
pub struct Table {
    by_payer: HashMap<String, HashMap<String, (f64, u64)>>,
    by_type: HashMap<String, HashMap<String, (f64, u64)>>,
}

impl Table {
    /// The cells of `report` with enough evidence.
    pub fn from_report(report: &Report) -> Self {
        let mut t = Table::default();
        for c in report.cells.iter().filter(|c| c.enough) {
            let (map, key) = if c.payer_id.is_empty() {
                (&mut t.by_type, c.payer_type.clone())
            } else {
                (&mut t.by_payer, c.payer_id.clone())
            };
            map.entry(c.rule_id.clone())
                .or_default()
                .insert(key, (c.posterior.mean, c.flagged));
        }
        t
    }

    /// Rule × payer cells in force.
    pub fn len(&self) -> usize {
        self.by_payer.values().map(HashMap::len).sum::<usize>()
            + self.by_type.values().map(HashMap::len).sum::<usize>()
    }

    /// True when no calibrated value is in force.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The table in force, replaced whole when recomputed; what the scrubber looks up.
#[derive(Debug, Default)]
pub struct Live(ArcSwap<Table>);

impl Live {
    /// Puts `table` in force.
    pub fn replace(&self, table: Table) {
        self.0.store(std::sync::Arc::new(table));
    }
}

impl crate::scrub::Calibrations for Live {
    fn lookup(
        &self,
        rule_id: &str,
        payer_id: &str,
        payer_type: &str,
    ) -> Option<(f64, u64, &'static str)> {
        let t = self.0.load();
        if let Some((p, n)) = t.by_payer.get(rule_id).and_then(|m| m.get(payer_id)) {
            return Some((*p, *n, "payer"));
        }
        t.by_type
            .get(rule_id)
            .and_then(|m| m.get(payer_type))
            .map(|(p, n)| (*p, *n, "payer_type"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_carc_meanings() {
        assert_eq!(reason("CO-97"), "97");
        assert!(family("CO-97").contains(&"B15"));
        assert_eq!(family("CO-999"), ["999"]);
        assert!(is_denial("CO", "97"));
        assert!(
            !is_denial("CO", "45"),
            "contractual pricing is not a denial"
        );
        assert!(!is_denial("PR", "2"), "coinsurance is not a denial");
    }

    #[test]
    fn the_posterior_starts_at_the_declared_value_and_follows_the_evidence() {
        let none = posterior(0.6, 20.0, 0, 0, 0.9);
        assert!((none.mean - 0.6).abs() < 1e-9);
        assert!(none.low < 0.6 && none.high > 0.6);
        let some = posterior(0.6, 20.0, 100, 30, 0.9);
        assert!((some.mean - (12.0 + 30.0) / 120.0).abs() < 1e-9);
        let lots = posterior(0.6, 20.0, 10_000, 3_000, 0.9);
        assert!((lots.mean - 0.3).abs() < 0.01);
        assert!(
            lots.high - lots.low < some.high - some.low,
            "narrower with evidence"
        );
    }

    #[test]
    fn reliability_bands_count_claims_by_their_risk() {
        let adj = |claim: &str, group: &str, reason: &str| AdjustmentRow {
            claim_id: claim.into(),
            group: group.into(),
            reason: reason.into(),
            ..Default::default()
        };
        let risks = vec![
            ("A".to_string(), 0.05),
            ("B".to_string(), 0.15),
            ("C".to_string(), 0.95),
            ("D".to_string(), 1.0),
        ];
        // C denied (CO-50); D only had the contractual reduction (CO-45: not a denial).
        let adjustments = vec![adj("C", "CO", "50"), adj("D", "CO", "45")];
        let bands = reliability(&risks, &adjustments);
        assert_eq!(bands.len(), BANDS);
        assert_eq!((bands[0].claims, bands[0].denied), (1, 0));
        assert_eq!((bands[1].claims, bands[1].denied), (1, 0));
        assert_eq!((bands[9].claims, bands[9].denied), (2, 1));
        assert!((bands[9].predicted - 0.975).abs() < 1e-9);
        assert!((bands[9].observed() - 0.5).abs() < 1e-9);
        assert_eq!(bands[5].claims, 0);
    }
}
