//! What payers did with claims: remittance advice (X12 835, read by [`crate::x12::remit835`])
//! as plain data — the payment, each claim's outcome with its adjustments, each service line's
//! — and the balancing arithmetic the 835 guide requires, so a file whose numbers do not add
//! up is flagged rather than learnt from silently.
//!
//! Amounts are integer cents. Adjustment groups and reason codes are the ones X12 and the
//! code committees define: group CO (contractual obligation), PR (patient responsibility), OA
//! (other), PI (payer initiated), CR (correction/reversal); reasons are Claim Adjustment
//! Reason Codes (CARC), remarks are Remittance Advice Remark Codes (RARC).

/// One 835 transaction set: one payment (or non-payment) from one payer to one payee.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Remittance {
    /// The idempotency key: a SHA-256 over the transaction's segments from BPR to the last
    /// before SE, separators normalised. The same remittance sent again (another envelope,
    /// other control numbers) has the same key.
    pub key: String,
    /// The implementation guide the envelope names (GS08), e.g. "005010X221A1"; empty for a
    /// bare ST … SE.
    pub version: String,
    /// Where the transaction starts in the file (its ST, 1-based).
    pub segment: usize,
    /// BPR01 transaction handling code: "I" remittance information only, "C" payment
    /// accompanies remittance, "H" notification only, ...
    pub handling: String,
    /// BPR02 total actual provider payment.
    pub total_paid_cents: i64,
    /// BPR04 payment method: "ACH", "CHK", "BOP", "FWT", "NON".
    pub payment_method: String,
    /// BPR16 check issue or EFT effective date (YYYY-MM-DD), if given.
    pub payment_date: String,
    /// TRN02 check or EFT trace number.
    pub trace_number: String,
    /// The payer: REF*2U (payer identification) when given, else TRN03 (the originating
    /// company identifier), else N1*PR's identifier.
    pub payer_id: String,
    /// N1*PR payer name.
    pub payer_name: String,
    /// N1*PE payee identifier (an NPI when N103 is XX).
    pub payee_id: String,
    /// DTM*405 production date (YYYY-MM-DD).
    pub production_date: String,
    /// Each claim paid or denied (loop 2100), in file order.
    pub claims: Vec<ClaimPayment>,
    /// Provider-level adjustments (PLB): not tied to a claim.
    pub provider_adjustments: Vec<ProviderAdjustment>,
}

/// One claim's adjudication (CLP loop 2100).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClaimPayment {
    /// CLP01: the provider's claim id (the 837's CLM01).
    pub claim_id: String,
    /// CLP02 claim status: 1 processed as primary, 2 secondary, 3 tertiary, 4 denied, 19–21
    /// processed and forwarded, 22 reversal of previous payment, 23 not our claim, 25
    /// predetermination.
    pub status: String,
    /// CLP03 total charge.
    pub charge_cents: i64,
    /// CLP04 payment.
    pub paid_cents: i64,
    /// CLP05 patient responsibility.
    pub patient_responsibility_cents: i64,
    /// CLP06 claim filing indicator (MB Medicare Part B, MC Medicaid, 12 PPO, ...).
    pub filing_indicator: String,
    /// CLP07 the payer's claim control number.
    pub payer_claim_number: String,
    /// CLP08 facility type / place of service code.
    pub facility_type: String,
    /// CLP09 claim frequency code.
    pub frequency: String,
    /// DTM*232 claim statement period start (YYYY-MM-DD).
    pub statement_from: String,
    /// DTM*233 claim statement period end.
    pub statement_to: String,
    /// DTM*050 date the payer received the claim.
    pub received_date: String,
    /// Claim-level adjustments (CAS in loop 2100).
    pub adjustments: Vec<Adjustment>,
    /// Claim-level remark codes (MOA03–07, MIA05 and MIA20–24).
    pub remarks: Vec<String>,
    /// Service lines (loop 2110).
    pub services: Vec<ServicePayment>,
    /// Where the CLP is in the file (1-based).
    pub segment: usize,
}

/// One service line's adjudication (SVC loop 2110).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServicePayment {
    /// SVC01-1 code qualifier: HC (HCPCS/CPT), AD (ADA), NU (revenue code), ...
    pub qualifier: String,
    /// SVC01-2 the adjudicated procedure code (for NU the revenue code).
    pub code: String,
    /// SVC01-3..6 modifiers.
    pub modifiers: Vec<String>,
    /// SVC02 line charge.
    pub charge_cents: i64,
    /// SVC03 line payment.
    pub paid_cents: i64,
    /// SVC04 revenue code (institutional).
    pub revenue_code: String,
    /// SVC05 units paid (1 when not given).
    pub units: f64,
    /// SVC06-2 the submitted code, when the payer changed it.
    pub submitted_code: String,
    /// DTM*472 (or *150) service date (YYYY-MM-DD).
    pub service_date: String,
    /// DTM*151 service period end, if a period.
    pub service_date_to: String,
    /// REF*6R line item control number: the 837's REF*6R for the line.
    pub line_control: String,
    /// AMT*B6 allowed amount, when given.
    pub allowed_cents: Option<i64>,
    /// Line adjustments (CAS in loop 2110).
    pub adjustments: Vec<Adjustment>,
    /// LQ*HE remark codes.
    pub remarks: Vec<String>,
    /// Where the SVC is in the file (1-based).
    pub segment: usize,
}

/// One adjustment: a CAS triplet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Adjustment {
    /// CAS01 group code: CO, PR, OA, PI or CR.
    pub group: String,
    /// The Claim Adjustment Reason Code.
    pub reason: String,
    /// The amount (positive reduces payment).
    pub amount_cents: i64,
    /// The units adjusted, if given.
    pub quantity: Option<f64>,
}

/// One provider-level adjustment (a PLB reason/amount pair).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProviderAdjustment {
    /// PLB01 provider identifier.
    pub provider_id: String,
    /// PLB02 fiscal period date (YYYY-MM-DD).
    pub fiscal_date: String,
    /// PLB03-1 reason code (WO overpayment recovery, L6 interest, FB forwarding balance, ...).
    pub reason: String,
    /// PLB03-2 reference (often the claim it concerns).
    pub reference: String,
    /// The amount (positive reduces the payment).
    pub amount_cents: i64,
}

impl ClaimPayment {
    /// True when the payer denied the claim outright (CLP02 = 4).
    pub fn denied(&self) -> bool {
        self.status == "4"
    }

    /// True when this claim reverses an earlier payment (CLP02 = 22).
    pub fn reversal(&self) -> bool {
        self.status == "22"
    }
}

/// The sum of a set of adjustments.
pub fn adjusted(adjustments: &[Adjustment]) -> i64 {
    adjustments.iter().map(|a| a.amount_cents).sum()
}

impl Remittance {
    /// Where the numbers do not balance as the 835 guide (005010X221A1, section 1.10.2)
    /// requires, in words with the segment concerned: each line's charge minus its
    /// adjustments is its payment; each claim's charge minus claim and line adjustments is
    /// its payment; the claims' payments minus the provider adjustments are BPR02.
    pub fn imbalances(&self) -> Vec<String> {
        let mut out = Vec::new();
        let money = crate::money::format_cents;
        for c in &self.claims {
            for s in &c.services {
                let expect = s.charge_cents - adjusted(&s.adjustments);
                if expect != s.paid_cents {
                    out.push(format!(
                        "segment {} (SVC, claim {}): charge {} − adjustments {} = {}, but the line pays {}",
                        s.segment,
                        c.claim_id,
                        money(s.charge_cents),
                        money(adjusted(&s.adjustments)),
                        money(expect),
                        money(s.paid_cents)
                    ));
                }
            }
            let line_adjustments: i64 = c.services.iter().map(|s| adjusted(&s.adjustments)).sum();
            let all = adjusted(&c.adjustments) + line_adjustments;
            if c.charge_cents - all != c.paid_cents {
                out.push(format!(
                    "segment {} (CLP, claim {}): charge {} − adjustments {} = {}, but the claim pays {}",
                    c.segment,
                    c.claim_id,
                    money(c.charge_cents),
                    money(all),
                    money(c.charge_cents - all),
                    money(c.paid_cents)
                ));
            }
        }
        let paid: i64 = self.claims.iter().map(|c| c.paid_cents).sum();
        let plb: i64 = self
            .provider_adjustments
            .iter()
            .map(|p| p.amount_cents)
            .sum();
        if paid - plb != self.total_paid_cents {
            out.push(format!(
                "segment {} (BPR): claims pay {} − provider adjustments {} = {}, but BPR02 is {}",
                self.segment + 1,
                money(paid),
                money(plb),
                money(paid - plb),
                money(self.total_paid_cents)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adj(group: &str, reason: &str, cents: i64) -> Adjustment {
        Adjustment {
            group: group.into(),
            reason: reason.into(),
            amount_cents: cents,
            quantity: None,
        }
    }

    #[test]
    fn balanced_numbers_give_no_imbalance_and_a_wrong_one_is_named() {
        let mut r = Remittance {
            total_paid_cents: 7_000,
            claims: vec![ClaimPayment {
                claim_id: "C1".into(),
                charge_cents: 10_000,
                paid_cents: 7_000,
                adjustments: vec![adj("PR", "2", 1_000)],
                services: vec![ServicePayment {
                    charge_cents: 10_000,
                    paid_cents: 8_000,
                    adjustments: vec![adj("CO", "45", 2_000)],
                    segment: 12,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(r.imbalances(), Vec::<String>::new());
        r.claims[0].services[0].paid_cents = 8_100;
        let found = r.imbalances();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("segment 12 (SVC, claim C1)"),
            "{found:?}"
        );
        r.claims[0].services[0].paid_cents = 8_000;
        r.total_paid_cents = 6_000;
        assert!(r.imbalances()[0].contains("BPR02"));
    }
}
