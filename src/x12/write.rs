//! Writing claims as an 837P interchange (005010X222A1): the round-trip tests and the parsing
//! benchmark use it, and it shows what the reader expects. Only the fields the reader maps are
//! written; names are placeholders ("PATIENT"), never claim data.

use crate::money::format_fixed as format_decimal;
use crate::proto::v1 as pb;

fn ymd(date: &str) -> String {
    date.replace('-', "")
}

/// One interchange holding `claims` (professional), one billing provider per claim.
pub fn interchange_837p(claims: &[pb::Claim]) -> String {
    format!("{HEADER}{}{}", transaction_837p(claims, 1), trailer(1))
}

/// The ISA and GS that open an interchange of 837P transaction sets.
pub const HEADER: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250801*1200*^*00501*000000001*0*P*:~\nGS*HC*SUB*REC*20250801*1200*1*X*005010X222A1~\n";

/// The GE and IEA that close an interchange of `sets` transaction sets after [`HEADER`].
pub fn trailer(sets: usize) -> String {
    format!("GE*{sets}*1~\nIEA*1*000000001~\n")
}

/// One 837P transaction set (ST ... SE, with its terminators) holding `claims`, with control
/// number `control`; a large file is [`HEADER`], several of these and the [`trailer`].
pub fn transaction_837p(claims: &[pb::Claim], control: u32) -> String {
    let mut st: Vec<String> = vec![
        format!("ST*837*{control:04}*005010X222A1"),
        // BHT04, the creation date, is what the reader takes as the submission date.
        format!(
            "BHT*0019*00*BATCH*{}*1200*CH",
            claims
                .first()
                .map_or(String::new(), |c| ymd(&c.submission_date))
        ),
        "NM1*41*2*SUBMITTER*****46*S1".into(),
        "NM1*40*2*RECEIVER*****46*R1".into(),
    ];
    let mut hl = 0;
    for c in claims {
        hl += 1;
        let billing = c.billing_provider.clone().unwrap_or_default();
        st.push(format!("HL*{hl}**20*1"));
        if !billing.taxonomy.is_empty() {
            st.push(format!("PRV*BI*PXC*{}", billing.taxonomy));
        }
        st.push(format!("NM1*85*2*PROVIDER*****XX*{}", billing.npi));
        let parent = hl;
        hl += 1;
        let payer = c.payer.clone().unwrap_or_default();
        let filing = match pb::PayerType::try_from(payer.r#type) {
            Ok(pb::PayerType::Medicare) => "MB",
            Ok(pb::PayerType::Medicaid) => "MC",
            Ok(pb::PayerType::Commercial) => "CI",
            _ => "ZZ",
        };
        st.push(format!("HL*{hl}*{parent}*22*0"));
        st.push(format!("SBR*P*18*******{filing}"));
        st.push("NM1*IL*1*PATIENT*****MI*MEMBER".into());
        let patient = c.patient.clone().unwrap_or_default();
        if !patient.birth_date.is_empty() {
            let sex = match pb::Sex::try_from(patient.sex) {
                Ok(pb::Sex::Female) => "F",
                Ok(pb::Sex::Male) => "M",
                _ => "U",
            };
            st.push(format!("DMG*D8*{}*{sex}", ymd(&patient.birth_date)));
        }
        st.push(format!("NM1*PR*2*PAYER*****PI*{}", payer.payer_id));
        let total: i64 = c.lines.iter().map(|l| l.charge_cents).sum();
        st.push(format!(
            "CLM*{}*{}***{}:B:{}*Y*A*Y*Y",
            c.claim_id,
            format_decimal(total, 2),
            c.place_of_service,
            if c.frequency_code.is_empty() {
                "1"
            } else {
                c.frequency_code.as_str()
            }
        ));
        if !c.prior_authorization.is_empty() {
            st.push(format!("REF*G1*{}", c.prior_authorization));
        }
        if !c.diagnoses.is_empty() {
            let hi: Vec<String> = c
                .diagnoses
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let q = match (i, d.code_system.as_str()) {
                        (0, "icd9cm") => "BK",
                        (_, "icd9cm") => "BF",
                        (0, _) => "ABK",
                        _ => "ABF",
                    };
                    format!("{q}:{}", d.code.replace('.', ""))
                })
                .collect();
            st.push(format!("HI*{}", hi.join("*")));
        }
        if let Some(r) = &c.rendering_provider {
            st.push(format!("NM1*82*1*RENDERING*****XX*{}", r.npi));
        }
        for (i, l) in c.lines.iter().enumerate() {
            st.push(format!("LX*{}", i + 1));
            let code = std::iter::once(format!("HC:{}", l.procedure_code))
                .chain(l.modifiers.iter().cloned())
                .collect::<Vec<_>>()
                .join(":");
            let pointers: Vec<String> =
                l.diagnosis_pointers.iter().map(|p| p.to_string()).collect();
            st.push(format!(
                "SV1*{code}*{}*UN*{}*{}**{}",
                format_decimal(l.charge_cents, 2),
                l.units,
                l.place_of_service,
                pointers.join(":")
            ));
            if l.service_date_to.is_empty() {
                st.push(format!("DTP*472*D8*{}", ymd(&l.service_date)));
            } else {
                st.push(format!(
                    "DTP*472*RD8*{}-{}",
                    ymd(&l.service_date),
                    ymd(&l.service_date_to)
                ));
            }
            if !l.ndc.is_empty() {
                st.push(format!("LIN**N4*{}", l.ndc));
            }
        }
    }
    st.push(format!("SE*{}*{control:04}", st.len() + 1));
    let mut text = st.join("~\n");
    text.push_str("~\n");
    text
}
