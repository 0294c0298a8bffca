//! Fees (phí, lệ phí): computing what a dossier owes and describing a rule in words.

use crate::catalog::{Channel, CountUnit, FeeBasis, FeeRule, OnlineVariant};
use crate::fmt::vnd;

/// What the amount of a dossier depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeeInput {
    pub pages: u32,
    pub copies: u32,
    /// Declared value for percentage fees (e.g. land price), VND.
    pub declared_value: u64,
    /// Index into the rule's reductions, when the applicant qualifies for one.
    pub reduction: Option<usize>,
}

/// The amount of one rule for one dossier; None when it cannot be known
/// (a council-set fee whose amount is not recorded).
pub fn amount(rule: &FeeRule, channel: Channel, input: FeeInput) -> Option<u64> {
    let base = match &rule.basis {
        FeeBasis::Exempt => 0,
        FeeBasis::Fixed { amount } => input.reduction.and_then(|i| rule.reductions.get(i)).map_or(*amount, |r| r.amount),
        FeeBasis::Tiered { unit, tiers, cap } => {
            let count = match unit {
                CountUnit::Page => input.pages,
                CountUnit::Copy => input.copies,
            };
            let per_copy: u64 =
                (1..=count).map(|n| tiers.iter().find(|t| t.from <= n && t.to.is_none_or(|to| n <= to)).map_or(0, |t| t.amount)).sum();
            let per_copy = cap.map_or(per_copy, |c| per_copy.min(c));
            match unit {
                // Page tiers price one copy; several copies of the same document pay each.
                CountUnit::Page => per_copy * u64::from(input.copies.max(1)),
                CountUnit::Copy => per_copy,
            }
        }
        FeeBasis::Percent { basis_points, min, max } => {
            let v = input.declared_value.saturating_mul(u64::from(*basis_points)) / 10_000;
            let v = min.map_or(v, |m| v.max(m));
            max.map_or(v, |m| v.min(m))
        }
        FeeBasis::CouncilSet { amount } => (*amount)?,
    };
    Some(match (channel, &rule.online) {
        (Channel::Online, Some(OnlineVariant::Exempt)) => 0,
        (Channel::Online, Some(OnlineVariant::Amount { amount })) => (*amount).min(base),
        (Channel::Online, Some(OnlineVariant::DiscountPercent { percent })) => base - base * u64::from((*percent).min(100)) / 100,
        _ => base,
    })
}

/// One line describing how a rule is priced, in `lang`.
pub fn describe(rule: &FeeRule, lang: &str) -> String {
    let en = lang == "en";
    let unit_name = |u: &CountUnit| match (u, en) {
        (CountUnit::Page, true) => "page",
        (CountUnit::Copy, true) => "copy",
        (CountUnit::Page, false) => "trang",
        (CountUnit::Copy, false) => "bản",
    };
    match &rule.basis {
        FeeBasis::Exempt => (if en { "Free of charge" } else { "Miễn phí" }).into(),
        FeeBasis::Fixed { amount } => vnd(*amount),
        FeeBasis::Tiered { unit, tiers, cap } => {
            let u = unit_name(unit);
            let mut parts: Vec<String> = tiers
                .iter()
                .map(|t| match (t.to, en) {
                    (Some(to), true) if to == t.from => format!("{}/{u} for {u} {}", vnd(t.amount), t.from),
                    (Some(to), true) => format!("{}/{u} for {u}s {}–{to}", vnd(t.amount), t.from),
                    (None, true) if t.from <= 1 => format!("{}/{u}", vnd(t.amount)),
                    (None, true) => format!("{}/{u} from {u} {}", vnd(t.amount), t.from),
                    (Some(to), false) if to == t.from => format!("{}/{u} ({u} thứ {})", vnd(t.amount), t.from),
                    (Some(to), false) => format!("{}/{u} (từ {u} {} đến {u} {to})", vnd(t.amount), t.from),
                    (None, false) if t.from <= 1 => format!("{}/{u}", vnd(t.amount)),
                    (None, false) => format!("{}/{u} từ {u} thứ {} trở đi", vnd(t.amount), t.from),
                })
                .collect();
            if let Some(c) = cap {
                parts.push(if en { format!("at most {} per copy", vnd(*c)) } else { format!("tối đa {}/bản", vnd(*c)) });
            }
            parts.join("; ")
        }
        FeeBasis::Percent { basis_points, min, max } => {
            let pct = format!("{},{:02}%", basis_points / 100, basis_points % 100);
            let pct = pct.replace(",00%", "%");
            let mut s = if en { format!("{} of the declared value", pct.replace(',', ".")) } else { format!("{pct} giá trị kê khai") };
            if let Some(m) = min {
                s += &if en { format!(", at least {}", vnd(*m)) } else { format!(", tối thiểu {}", vnd(*m)) };
            }
            if let Some(m) = max {
                s += &if en { format!(", at most {}", vnd(*m)) } else { format!(", tối đa {}", vnd(*m)) };
            }
            s
        }
        FeeBasis::CouncilSet { amount: Some(a) } => {
            if en {
                format!("{} (set by the People's Council)", vnd(*a))
            } else {
                format!("{} (theo Nghị quyết của HĐND)", vnd(*a))
            }
        }
        FeeBasis::CouncilSet { amount: None } => {
            (if en { "Set by a resolution of the provincial People's Council" } else { "Theo Nghị quyết của HĐND cấp tỉnh" }).into()
        }
    }
}

/// What filing online changes, in words; None when nothing changes.
pub fn describe_online(rule: &FeeRule, lang: &str) -> Option<String> {
    let en = lang == "en";
    Some(match rule.online.as_ref()? {
        OnlineVariant::Exempt => (if en { "Free when filed online" } else { "Miễn khi nộp trực tuyến" }).into(),
        OnlineVariant::Amount { amount } => {
            if en {
                format!("{} when filed online", vnd(*amount))
            } else {
                format!("{} khi nộp trực tuyến", vnd(*amount))
            }
        }
        OnlineVariant::DiscountPercent { percent } => {
            if en {
                format!("{percent}% off when filed online")
            } else {
                format!("Giảm {percent}% khi nộp trực tuyến")
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{FeeKind, FeeReduction, FeeTier, I18nText};

    fn rule(basis: FeeBasis, online: Option<OnlineVariant>) -> FeeRule {
        FeeRule {
            name: I18nText::new("Lệ phí", "Charge"),
            kind: FeeKind::Charge,
            basis,
            condition: None,
            online,
            reductions: vec![],
            legal_basis: None,
        }
    }

    fn certified_copy() -> FeeRule {
        rule(
            FeeBasis::Tiered {
                unit: CountUnit::Page,
                tiers: vec![FeeTier { from: 1, to: Some(2), amount: 2000 }, FeeTier { from: 3, to: None, amount: 1000 }],
                cap: Some(200_000),
            },
            None,
        )
    }

    fn input(pages: u32, copies: u32) -> FeeInput {
        FeeInput { pages, copies, ..Default::default() }
    }

    #[test]
    fn certified_copy_per_page_with_cap() {
        // Circular 226/2016: 2,000/page for the first two pages, 1,000 from the third, at most 200,000 a copy.
        let r = certified_copy();
        assert_eq!(amount(&r, Channel::InPerson, input(1, 1)), Some(2000));
        assert_eq!(amount(&r, Channel::InPerson, input(2, 1)), Some(4000));
        assert_eq!(amount(&r, Channel::InPerson, input(5, 1)), Some(7000));
        assert_eq!(amount(&r, Channel::InPerson, input(5, 2)), Some(14000));
        assert_eq!(amount(&r, Channel::InPerson, input(1000, 1)), Some(200_000));
        assert_eq!(describe(&r, "vi"), "2.000 ₫/trang (từ trang 1 đến trang 2); 1.000 ₫/trang từ trang thứ 3 trở đi; tối đa 200.000 ₫/bản");
    }

    #[test]
    fn online_variants() {
        let r = rule(FeeBasis::Fixed { amount: 20000 }, Some(OnlineVariant::Amount { amount: 10000 }));
        assert_eq!(amount(&r, Channel::InPerson, input(0, 1)), Some(20000));
        assert_eq!(amount(&r, Channel::Online, input(0, 1)), Some(10000));
        let r = rule(FeeBasis::Fixed { amount: 50000 }, Some(OnlineVariant::Exempt));
        assert_eq!(amount(&r, Channel::Online, input(0, 1)), Some(0));
        let r = rule(FeeBasis::Fixed { amount: 50000 }, Some(OnlineVariant::DiscountPercent { percent: 50 }));
        assert_eq!(amount(&r, Channel::Online, input(0, 1)), Some(25000));
        assert_eq!(describe_online(&r, "vi").unwrap(), "Giảm 50% khi nộp trực tuyến");
    }

    #[test]
    fn criminal_record_copies_and_reduction() {
        let mut base = rule(FeeBasis::Fixed { amount: 200_000 }, None);
        base.reductions.push(FeeReduction { who: I18nText::new("Sinh viên", "Students"), amount: 100_000 });
        let extra =
            rule(FeeBasis::Tiered { unit: CountUnit::Copy, tiers: vec![FeeTier { from: 3, to: None, amount: 5000 }], cap: None }, None);
        let total = |copies, reduction| {
            let i = FeeInput { copies, reduction, ..Default::default() };
            amount(&base, Channel::InPerson, i).unwrap() + amount(&extra, Channel::InPerson, i).unwrap()
        };
        assert_eq!(total(2, None), 200_000);
        assert_eq!(total(4, None), 210_000);
        assert_eq!(total(1, Some(0)), 100_000);
    }

    #[test]
    fn percent_and_council() {
        let r = rule(FeeBasis::Percent { basis_points: 50, min: None, max: Some(500_000_000) }, None);
        let i = FeeInput { declared_value: 2_000_000_000, ..Default::default() };
        assert_eq!(amount(&r, Channel::InPerson, i), Some(10_000_000));
        assert_eq!(describe(&r, "vi"), "0,50% giá trị kê khai, tối đa 500.000.000 ₫");
        assert_eq!(describe(&r, "en"), "0.50% of the declared value, at most 500.000.000 ₫");
        let c = rule(FeeBasis::CouncilSet { amount: None }, None);
        assert_eq!(amount(&c, Channel::InPerson, input(0, 1)), None);
    }
}
