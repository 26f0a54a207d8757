//! Where a finding is in the 837: each line it names (the line's SV1/SV2, narrowed to the
//! element its field path names) and, for claim-level fields, the segment that carried them.

use super::claim837::{ClaimSpots, Spot};
use crate::proto::v1 as pb;

fn location(spot: Spot, element: u32, component: u32) -> pb::X12Location {
    let mut text = format!("{} {}", spot.loop_id, spot.segment);
    if element > 0 {
        text.push_str(&format!("-{element:02}"));
        if component > 0 {
            text.push_str(&format!("-{component}"));
        }
    }
    text.push_str(&format!(" at segment {}", spot.position));
    pb::X12Location {
        loop_id: spot.loop_id.to_string(),
        segment_id: spot.segment.to_string(),
        segment_position: spot.position as u32,
        element_position: element,
        component_position: component,
        text,
    }
}

/// The element (and component) of a line's SV1/SV2 that a line field path names.
fn line_element(institutional: bool, field: &str) -> (u32, u32) {
    let code = if institutional { 2 } else { 1 };
    if field.ends_with("procedure_code") {
        (code, 2)
    } else if let Some(rest) = field.split(".modifiers[").nth(1) {
        let j: u32 = rest.trim_end_matches(']').parse().unwrap_or(0);
        (code, 3 + j)
    } else if field.ends_with("units") {
        (if institutional { 5 } else { 4 }, 0)
    } else if field.ends_with("charge_cents") {
        (if institutional { 3 } else { 2 }, 0)
    } else if field.ends_with("diagnosis_pointers") && !institutional {
        (7, 0)
    } else if field.ends_with("place_of_service") && !institutional {
        (5, 0)
    } else {
        (0, 0)
    }
}

/// The 837 locations of `finding` on the claim whose parts are at `spots`.
pub fn locate(spots: &ClaimSpots, finding: &pb::Finding) -> pb::X12Locations {
    let field = finding.field.as_str();
    let mut out = Vec::new();
    // Claim-level fields.
    if let Some(rest) = field.strip_prefix("diagnoses[") {
        let i: usize = rest
            .split(']')
            .next()
            .unwrap_or("")
            .parse()
            .unwrap_or(usize::MAX);
        if let Some((spot, element)) = spots.diagnoses.get(i) {
            out.push(location(*spot, *element as u32, 2));
        }
    } else if field.starts_with("billing_provider")
        && let Some(spot) = spots.billing
    {
        out.push(location(spot, 9, 0));
    } else if field == "place_of_service" || field == "type_of_bill" {
        out.push(location(spots.clm, 5, 1));
    }
    for n in &finding.line_numbers {
        let Some(l) = spots.lines.get((*n as usize).wrapping_sub(1)) else {
            continue;
        };
        let inst = l.service.segment == "SV2";
        let (element, component) = if field.starts_with("lines[") {
            line_element(inst, field)
        } else {
            (0, 0)
        };
        out.push(location(l.service, element, component));
    }
    if out.is_empty() {
        out.push(location(spots.clm, 0, 0));
    }
    pb::X12Locations { locations: out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::claim837::LineSpots;

    #[test]
    fn lines_and_fields_become_segments_and_elements() {
        let spot = |loop_id, segment, position| Spot {
            loop_id,
            segment,
            position,
        };
        let spots = ClaimSpots {
            clm: spot("2300", "CLM", 20),
            billing: Some(spot("2010AA", "NM1", 6)),
            diagnoses: vec![(spot("2300", "HI", 23), 1), (spot("2300", "HI", 23), 2)],
            lines: vec![
                LineSpots {
                    service: spot("2400", "SV1", 30),
                    ..Default::default()
                },
                LineSpots {
                    service: spot("2400", "SV1", 35),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let f = |field: &str, lines: Vec<u32>| pb::Finding {
            field: field.into(),
            line_numbers: lines,
            ..Default::default()
        };
        let l = locate(&spots, &f("lines[1].modifiers[0]", vec![2]));
        assert_eq!(l.locations[0].text, "2400 SV1-01-3 at segment 35");
        let l = locate(&spots, &f("diagnoses[1].code", vec![1]));
        assert_eq!(l.locations[0].text, "2300 HI-02-2 at segment 23");
        assert_eq!(l.locations[1].text, "2400 SV1 at segment 30");
        let l = locate(&spots, &f("billing_provider.npi", vec![]));
        assert_eq!(l.locations[0].text, "2010AA NM1-09 at segment 6");
        let l = locate(&spots, &f("", vec![]));
        assert_eq!(l.locations[0].text, "2300 CLM at segment 20");
    }
}
