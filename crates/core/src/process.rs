//! The declarative process (quy trình nội bộ) of a procedure version: which steps a received
//! dossier goes through, who performs each (role at which agency), the time budget of each,
//! and the decisions available at each step with where they lead.
//!
//! Reception (Forms 01–03) is fixed by Decree 118/2025 art. 15–16 and comes before every
//! process; the process starts when the complete dossier is accepted, which is also when the
//! statutory clock starts, so the step budgets share out the statutory time limit.

use crate::account::Role;
use crate::catalog::{I18nText, TimeLimit, TimeUnit};
use crate::form::AnswerError;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};

/// One working day counts as 8 working hours (DOMAIN.md §5, how vendors count).
pub const WORKING_DAY_MINUTES: i64 = 8 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable key, e.g. `review`; `[a-z0-9_]{1,32}`.
    pub id: String,
    pub name: I18nText,
    /// Who performs it: one-stop officer (reception), specialist or leader.
    pub role: Role,
    /// The agency that performs it (electronic ID); None = the agency the dossier was filed
    /// with. A step at another agency makes the procedure multi-agency (liên thông).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    pub budget: Budget,
    pub decisions: Vec<Decision>,
}

/// A step's share of the statutory time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub value: u32,
    pub unit: BudgetUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetUnit {
    WorkingHours,
    WorkingDays,
}

impl Budget {
    pub fn minutes(self) -> i64 {
        match self.unit {
            BudgetUnit::WorkingHours => i64::from(self.value) * 60,
            BudgetUnit::WorkingDays => i64::from(self.value) * WORKING_DAY_MINUTES,
        }
    }

    pub fn hours(h: u32) -> Self {
        Budget { value: h, unit: BudgetUnit::WorkingHours }
    }

    pub fn label(self, lang: &str) -> String {
        let unit = match self.unit {
            BudgetUnit::WorkingHours => TimeUnit::WorkingHours,
            BudgetUnit::WorkingDays => TimeUnit::WorkingDays,
        };
        unit.label(lang, self.value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Stable key within the step, e.g. `propose`, `approve`.
    pub id: String,
    pub label: I18nText,
    pub kind: DecisionKind,
    /// The next step. Forward, send-back and transfer need one; approve and refuse may name
    /// the step that returns the result (none = the electronic result reaches the applicant
    /// at once); supplement comes back to the same step; return ends the dossier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Hand the dossier on to the next step of the same agency.
    Forward,
    /// Send it back to an earlier step (e.g. the leader asks the specialist to redo).
    SendBack,
    /// Hand it to a step at another agency (liên thông).
    Transfer,
    /// Ask the applicant for a supplement: the clock pauses until they answer.
    Supplement,
    /// Decide in favour: issue the (signed) result.
    Approve,
    /// Decide against after review, with written reasons.
    Refuse,
    /// Return the result to the applicant (status 10).
    Return,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 7] =
        [Self::Forward, Self::SendBack, Self::Transfer, Self::Supplement, Self::Approve, Self::Refuse, Self::Return];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::SendBack => "send_back",
            Self::Transfer => "transfer",
            Self::Supplement => "supplement",
            Self::Approve => "approve",
            Self::Refuse => "refuse",
            Self::Return => "return",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang == "en") {
            (Self::Forward, false) => "Chuyển bước tiếp theo",
            (Self::SendBack, false) => "Trả lại bước trước",
            (Self::Transfer, false) => "Chuyển cơ quan phối hợp (liên thông)",
            (Self::Supplement, false) => "Yêu cầu bổ sung",
            (Self::Approve, false) => "Phê duyệt, ký kết quả",
            (Self::Refuse, false) => "Từ chối giải quyết",
            (Self::Return, false) => "Trả kết quả",
            (Self::Forward, true) => "Forward to the next step",
            (Self::SendBack, true) => "Send back",
            (Self::Transfer, true) => "Transfer to a partner agency",
            (Self::Supplement, true) => "Request a supplement",
            (Self::Approve, true) => "Approve and sign the result",
            (Self::Refuse, true) => "Refuse",
            (Self::Return, true) => "Return the result",
        }
    }

    /// Whether the decision needs a next step, may have one, or must not.
    fn target(self) -> Target {
        match self {
            Self::Forward | Self::SendBack | Self::Transfer => Target::Required,
            Self::Approve | Self::Refuse => Target::Optional,
            Self::Supplement | Self::Return => Target::None,
        }
    }

    /// Whether this decision settles the dossier (the 766 index's end: processed).
    pub fn decides(self) -> bool {
        matches!(self, Self::Approve | Self::Refuse)
    }
}

enum Target {
    Required,
    Optional,
    None,
}

/// What the statutory limit allows the steps to add up to, in working minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Budgets must add up to exactly this (limits in working days or hours).
    Exactly(i64),
    /// Budgets may not exceed this (calendar-day limits, same-day service).
    AtMost(i64),
}

impl Allowance {
    pub fn of(limit: &TimeLimit) -> Allowance {
        let v = i64::from(limit.value);
        match limit.unit {
            TimeUnit::WorkingDays => Allowance::Exactly(v * WORKING_DAY_MINUTES),
            TimeUnit::WorkingHours => Allowance::Exactly(v * 60),
            // A calendar week holds at most 5 working days.
            TimeUnit::Days => Allowance::AtMost(((v * 5 + 6) / 7).max(1) * WORKING_DAY_MINUTES),
            TimeUnit::Hours => Allowance::AtMost(v.max(1) * 60),
            TimeUnit::SameDay => Allowance::AtMost(WORKING_DAY_MINUTES),
        }
    }
}

fn problem(path: impl Into<String>, code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> AnswerError {
    AnswerError { path: path.into(), code, message_vi: vi.into(), message_en: en.into() }
}

fn valid_key(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn minutes_label(m: i64, en: bool) -> String {
    let (h, mm) = (m / 60, m % 60);
    match (en, mm) {
        (true, 0) => format!("{h} working hours"),
        (true, _) => format!("{h} h {mm} min"),
        (false, 0) => format!("{h} giờ làm việc"),
        (false, _) => format!("{h} giờ {mm} phút"),
    }
}

impl Process {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn first(&self) -> Option<&Step> {
        self.steps.first()
    }

    /// Total of the step budgets in working minutes.
    pub fn total_minutes(&self) -> i64 {
        self.steps.iter().map(|s| s.budget.minutes()).sum()
    }

    /// The agencies other than the filing one that take part (liên thông), in step order,
    /// each once. Empty for a single-agency process.
    pub fn partner_agencies(&self) -> Vec<&str> {
        let mut out: Vec<&str> = vec![];
        for a in self.steps.iter().filter_map(|s| s.agency.as_deref()) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// Whether `total_minutes` fits the statutory limit (see [`Allowance`]).
    pub fn fits(&self, limit: Option<&TimeLimit>) -> bool {
        match limit.map(Allowance::of) {
            Some(Allowance::Exactly(m)) => self.total_minutes() == m,
            Some(Allowance::AtMost(m)) => self.total_minutes() <= m,
            None => true,
        }
    }

    /// Checks the process against the procedure: keys, roles, targets, reachability (every
    /// step reachable from the first, and an end reachable from every step), and that the
    /// budgets add up to the statutory limit. `agency_exists` says whether an electronic ID
    /// names a known agency. Returns every problem found.
    pub fn check(&self, limit: Option<&TimeLimit>, agency_exists: &dyn Fn(&str) -> bool) -> Vec<AnswerError> {
        let mut out = vec![];
        if self.steps.is_empty() {
            out.push(problem("steps", "no_steps", "Quy trình phải có ít nhất một bước.", "A process needs at least one step."));
            return out;
        }
        if self.steps.len() > 30 {
            out.push(problem("steps", "too_many_steps", "Quy trình có quá nhiều bước (tối đa 30).", "Too many steps (at most 30)."));
        }
        let index: HashMap<&str, usize> = self.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        let mut seen = HashSet::new();
        let mut has_decide = false;
        for (i, s) in self.steps.iter().enumerate() {
            let p = format!("steps[{i}]");
            if !valid_key(&s.id) {
                out.push(problem(
                    format!("{p}.id"),
                    "bad_key",
                    format!("Mã bước `{}` chỉ gồm chữ thường không dấu, số và dấu gạch dưới (tối đa 32 ký tự).", s.id),
                    format!("Step key `{}` may only hold a-z, 0-9 and _ (at most 32).", s.id),
                ));
            }
            if !seen.insert(s.id.as_str()) {
                out.push(problem(
                    format!("{p}.id"),
                    "duplicate_step",
                    format!("Bước `{}` bị trùng.", s.id),
                    format!("Duplicate step `{}`.", s.id),
                ));
            }
            if s.name.vi.trim().is_empty() {
                out.push(problem(format!("{p}.name"), "name_required", "Bước cần có tên tiếng Việt.", "A step needs a Vietnamese name."));
            }
            if !matches!(s.role, Role::Reception | Role::Specialist | Role::Leader) {
                out.push(problem(
                    format!("{p}.role"),
                    "bad_role",
                    "Người thực hiện bước phải là cán bộ một cửa, chuyên viên hoặc lãnh đạo.",
                    "A step is performed by a one-stop officer, a specialist or a leader.",
                ));
            }
            if let Some(a) = &s.agency {
                if !agency_exists(a) {
                    out.push(problem(
                        format!("{p}.agency"),
                        "unknown_agency",
                        format!("Không có cơ quan `{a}`."),
                        format!("No agency `{a}`."),
                    ));
                }
            }
            if s.decisions.is_empty() {
                out.push(problem(
                    format!("{p}.decisions"),
                    "no_decisions",
                    format!("Bước `{}` không có quyết định nào: hồ sơ sẽ bị kẹt.", s.id),
                    format!("Step `{}` has no decisions: dossiers would be stuck.", s.id),
                ));
            }
            let mut keys = HashSet::new();
            for (j, d) in s.decisions.iter().enumerate() {
                let dp = format!("{p}.decisions[{j}]");
                if !valid_key(&d.id) || !keys.insert(d.id.as_str()) {
                    out.push(problem(
                        format!("{dp}.id"),
                        "bad_key",
                        format!("Mã quyết định `{}` không hợp lệ hoặc bị trùng.", d.id),
                        format!("Decision key `{}` is invalid or repeated.", d.id),
                    ));
                }
                if d.label.vi.trim().is_empty() {
                    out.push(problem(
                        format!("{dp}.label"),
                        "name_required",
                        "Quyết định cần có nhãn tiếng Việt.",
                        "A decision needs a Vietnamese label.",
                    ));
                }
                has_decide |= d.kind.decides();
                let target = d.to.as_deref().map(|t| (t, index.get(t).copied()));
                match (d.kind.target(), target) {
                    (Target::Required, None) => out.push(problem(
                        format!("{dp}.to"),
                        "target_required",
                        format!("Quyết định `{}` phải chỉ rõ bước tiếp theo.", d.id),
                        format!("Decision `{}` must name the next step.", d.id),
                    )),
                    (Target::None, Some(_)) => out.push(problem(
                        format!("{dp}.to"),
                        "target_not_allowed",
                        format!("Quyết định `{}` ({}) không chuyển sang bước khác.", d.id, d.kind.label("vi")),
                        format!("Decision `{}` ({}) does not lead to another step.", d.id, d.kind.label("en")),
                    )),
                    (_, Some((t, None))) => {
                        out.push(problem(format!("{dp}.to"), "unknown_step", format!("Không có bước `{t}`."), format!("No step `{t}`.")))
                    }
                    (_, Some((_, Some(k)))) => {
                        let to = &self.steps[k];
                        if d.kind == DecisionKind::SendBack && k >= i {
                            out.push(problem(
                                format!("{dp}.to"),
                                "send_back_forward",
                                format!("`{}` là trả lại nên phải về một bước trước `{}`.", d.id, s.id),
                                format!("`{}` sends back, so it must lead to a step before `{}`.", d.id, s.id),
                            ));
                        }
                        if matches!(d.kind, DecisionKind::Forward | DecisionKind::Transfer) && k == i {
                            out.push(problem(
                                format!("{dp}.to"),
                                "self_loop",
                                format!("`{}` chuyển hồ sơ về chính bước `{}`.", d.id, s.id),
                                format!("`{}` leads back to its own step `{}`.", d.id, s.id),
                            ));
                        }
                        if d.kind == DecisionKind::Transfer && to.agency == s.agency {
                            out.push(problem(
                                format!("{dp}.to"),
                                "transfer_same_agency",
                                format!("Chuyển liên thông phải sang bước của cơ quan khác (bước `{}` cùng cơ quan).", to.id),
                                format!("A transfer must lead to another agency's step (`{}` is the same agency).", to.id),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        if !has_decide {
            out.push(problem(
                "steps",
                "no_decision_step",
                "Quy trình phải có ít nhất một bước phê duyệt hoặc từ chối giải quyết.",
                "A process needs at least one step that approves or refuses.",
            ));
        }
        // Reachability, only meaningful once the targets are sound.
        if out.is_empty() {
            let next = |i: usize| -> Vec<usize> {
                self.steps[i].decisions.iter().filter_map(|d| d.to.as_deref().and_then(|t| index.get(t).copied())).collect()
            };
            let mut reached = vec![false; self.steps.len()];
            let mut queue = VecDeque::from([0usize]);
            reached[0] = true;
            while let Some(i) = queue.pop_front() {
                for k in next(i) {
                    if !reached[k] {
                        reached[k] = true;
                        queue.push_back(k);
                    }
                }
            }
            for (i, s) in self.steps.iter().enumerate().filter(|(i, _)| !reached[*i]) {
                out.push(problem(
                    format!("steps[{i}]"),
                    "unreachable",
                    format!("Không hồ sơ nào đến được bước `{}`.", s.id),
                    format!("No dossier can reach step `{}`.", s.id),
                ));
            }
            // An end: a decision with no next step other than a supplement (which comes back).
            let ends = |i: usize| self.steps[i].decisions.iter().any(|d| d.to.is_none() && d.kind != DecisionKind::Supplement);
            let mut finishes: Vec<bool> = (0..self.steps.len()).map(ends).collect();
            loop {
                let mut changed = false;
                for i in 0..self.steps.len() {
                    if !finishes[i] && next(i).into_iter().any(|k| finishes[k]) {
                        finishes[i] = true;
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            for (i, s) in self.steps.iter().enumerate().filter(|(i, _)| !finishes[*i]) {
                out.push(problem(
                    format!("steps[{i}]"),
                    "no_end",
                    format!("Từ bước `{}` hồ sơ không thể kết thúc (không có đường tới trả kết quả).", s.id),
                    format!("From step `{}` a dossier can never finish (no way to a result).", s.id),
                ));
            }
        }
        if let Some(limit) = limit {
            let total = self.total_minutes();
            match Allowance::of(limit) {
                Allowance::Exactly(m) if total != m => out.push(problem(
                    "steps",
                    "budget_mismatch",
                    format!(
                        "Tổng thời gian các bước là {}, phải bằng thời hạn giải quyết {} ({}).",
                        minutes_label(total, false),
                        limit.unit.label("vi", limit.value),
                        minutes_label(m, false)
                    ),
                    format!(
                        "The steps add up to {}; they must equal the time limit of {} ({}).",
                        minutes_label(total, true),
                        limit.unit.label("en", limit.value),
                        minutes_label(m, true)
                    ),
                )),
                Allowance::AtMost(m) if total > m => out.push(problem(
                    "steps",
                    "budget_exceeded",
                    format!(
                        "Tổng thời gian các bước là {}, vượt thời hạn giải quyết {} (tối đa {}).",
                        minutes_label(total, false),
                        limit.unit.label("vi", limit.value),
                        minutes_label(m, false)
                    ),
                    format!(
                        "The steps add up to {}, more than the time limit of {} (at most {}).",
                        minutes_label(total, true),
                        limit.unit.label("en", limit.value),
                        minutes_label(m, true)
                    ),
                )),
                _ => {}
            }
        }
        out
    }

    /// The usual one-stop process when a procedure names none: a specialist reviews, the
    /// leader approves and signs, the one-stop officer returns the result. The budgets share
    /// out the allowance (review the most, return the least), whole hours, adding up exactly.
    pub fn standard(limit: Option<&TimeLimit>) -> Process {
        let total_hours = match limit.map(Allowance::of) {
            Some(Allowance::Exactly(m) | Allowance::AtMost(m)) => (m / 60).max(3),
            None => 3 * 8,
        } as u32;
        let ret = (total_hours / 8).max(1);
        let approve = (total_hours / 4).max(1);
        let review = total_hours - ret - approve;
        let t = |vi: &str, en: &str| I18nText::new(vi, en);
        let d = |id: &str, label: I18nText, kind: DecisionKind, to: Option<&str>| Decision {
            id: id.into(),
            label,
            kind,
            to: to.map(str::to_owned),
        };
        Process {
            steps: vec![
                Step {
                    id: "review".into(),
                    name: t("Chuyên viên thẩm định hồ sơ", "Specialist review"),
                    role: Role::Specialist,
                    agency: None,
                    budget: Budget::hours(review),
                    decisions: vec![
                        d("propose", t("Trình lãnh đạo phê duyệt", "Submit to the leader"), DecisionKind::Forward, Some("approve")),
                        d(
                            "supplement",
                            t("Yêu cầu công dân bổ sung", "Ask the applicant for a supplement"),
                            DecisionKind::Supplement,
                            None,
                        ),
                        d("refuse", t("Từ chối giải quyết (nêu lý do)", "Refuse (with reasons)"), DecisionKind::Refuse, Some("return")),
                    ],
                },
                Step {
                    id: "approve".into(),
                    name: t("Lãnh đạo phê duyệt, ký số kết quả", "Leader approval and signature"),
                    role: Role::Leader,
                    agency: None,
                    budget: Budget::hours(approve),
                    decisions: vec![
                        d("approve", t("Phê duyệt và ký số kết quả", "Approve and sign the result"), DecisionKind::Approve, Some("return")),
                        d("send_back", t("Trả lại chuyên viên", "Send back to the specialist"), DecisionKind::SendBack, Some("review")),
                        d("refuse", t("Từ chối giải quyết (nêu lý do)", "Refuse (with reasons)"), DecisionKind::Refuse, Some("return")),
                    ],
                },
                Step {
                    id: "return".into(),
                    name: t("Bộ phận một cửa trả kết quả", "One-stop desk returns the result"),
                    role: Role::Reception,
                    agency: None,
                    budget: Budget::hours(ret),
                    decisions: vec![d(
                        "return",
                        t("Đã trả kết quả cho công dân", "Result handed to the applicant"),
                        DecisionKind::Return,
                        None,
                    )],
                },
            ],
        }
    }
}

/// How a step or a dossier finished against its due moment (Form 06's last column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// Trước hạn: done on an earlier day than the due day.
    Early,
    /// Đúng hạn: done on the due day, not after the due moment.
    OnTime,
    /// Quá hạn.
    Late,
}

impl Timeliness {
    pub fn of(done: chrono::NaiveDateTime, due: chrono::NaiveDateTime) -> Timeliness {
        if done > due {
            Timeliness::Late
        } else if done.date() < due.date() {
            Timeliness::Early
        } else {
            Timeliness::OnTime
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Early => "early",
            Self::OnTime => "on_time",
            Self::Late => "late",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Early, Self::OnTime, Self::Late].into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang == "en") {
            (Self::Early, false) => "Trước hạn",
            (Self::OnTime, false) => "Đúng hạn",
            (Self::Late, false) => "Quá hạn",
            (Self::Early, true) => "Early",
            (Self::OnTime, true) => "On time",
            (Self::Late, true) => "Late",
        }
    }
}

/// Where a running dossier or step stands, for the inbox colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    OnTrack,
    /// Less than `soon` working minutes left.
    DueSoon,
    Late,
}

impl DueState {
    pub fn of(left_minutes: i64, soon: i64) -> DueState {
        if left_minutes < 0 {
            DueState::Late
        } else if left_minutes < soon {
            DueState::DueSoon
        } else {
            DueState::OnTrack
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTrack => "on_track",
            Self::DueSoon => "due_soon",
            Self::Late => "late",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::OnTrack, Self::DueSoon, Self::Late].into_iter().find(|t| t.as_str() == s)
    }
}

/// The facts of one dossier the 766 index's progress indicator looks at (DOMAIN.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockFacts {
    /// The appointment of Form 01, moved later by the time spent waiting for supplements (the
    /// index subtracts supplement time). A Form 04 delay does not move it: a delayed dossier
    /// still counts as late.
    pub appointed: Option<chrono::NaiveDateTime>,
    /// The statutory due moment, used when there is no appointment.
    pub statutory: chrono::NaiveDateTime,
    /// Supplement requests after reception.
    pub supplement_requests: u32,
    /// The first of: processed, result returned, stopped or refused.
    pub finished: Option<chrono::NaiveDateTime>,
}

/// The 766 verdict on one dossier at `now`: on time or late (finished or still running).
pub fn on_time_766(f: &ClockFacts, now: chrono::NaiveDateTime) -> bool {
    if f.supplement_requests > 1 {
        return false;
    }
    let due = f.appointed.unwrap_or(f.statutory);
    f.finished.unwrap_or(now) <= due
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Channel;

    fn limit(value: u32, unit: TimeUnit) -> TimeLimit {
        TimeLimit { channel: None, value, unit, cutoff: None, note: None }
    }

    fn any_agency(_: &str) -> bool {
        true
    }

    #[test]
    fn the_standard_process_is_valid_for_every_kind_of_limit() {
        for l in [
            limit(0, TimeUnit::SameDay),
            limit(3, TimeUnit::WorkingDays),
            limit(10, TimeUnit::WorkingDays),
            limit(15, TimeUnit::Days),
            limit(4, TimeUnit::WorkingHours),
            limit(24, TimeUnit::Hours),
        ] {
            let p = Process::standard(Some(&l));
            assert_eq!(p.check(Some(&l), &any_agency), vec![], "{l:?}");
        }
        let ten = Process::standard(Some(&limit(10, TimeUnit::WorkingDays)));
        let hours: Vec<u32> = ten.steps.iter().map(|s| s.budget.value).collect();
        assert_eq!(hours, [50, 20, 10]);
        assert_eq!(ten.total_minutes(), 10 * 8 * 60);
        let _ = Channel::Online;
    }

    #[test]
    fn budgets_must_add_up() {
        let l = limit(5, TimeUnit::WorkingDays);
        let mut p = Process::standard(Some(&l));
        p.steps[0].budget = Budget { value: 1, unit: BudgetUnit::WorkingDays };
        let errs = p.check(Some(&l), &any_agency);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].code, "budget_mismatch");
        assert!(errs[0].message_vi.contains("5 ngày làm việc"), "{}", errs[0].message_vi);
        // Calendar days: at most the working days they can hold.
        let l = limit(15, TimeUnit::Days);
        p.steps[0].budget = Budget { value: 12, unit: BudgetUnit::WorkingDays };
        assert_eq!(p.check(Some(&l), &any_agency)[0].code, "budget_exceeded");
    }

    #[test]
    fn structural_problems_are_all_reported() {
        let l = limit(3, TimeUnit::WorkingDays);
        let mut p = Process::standard(Some(&l));
        p.steps[1].decisions[1].to = Some("approve".into()); // send back to itself
        p.steps[0].decisions[0].to = Some("nowhere".into());
        p.steps[2].decisions[0].to = Some("review".into()); // return with a target
        p.steps.push(p.steps[2].clone()); // duplicate id
        p.steps[3].agency = Some("H99".into());
        let codes: Vec<&str> = p.check(Some(&l), &|a| a != "H99").iter().map(|e| e.code).collect();
        for c in ["send_back_forward", "unknown_step", "target_not_allowed", "duplicate_step", "unknown_agency"] {
            assert!(codes.contains(&c), "{c} missing from {codes:?}");
        }
    }

    #[test]
    fn unreachable_steps_and_dead_ends_are_found() {
        let l = limit(3, TimeUnit::WorkingDays);
        let mut p = Process::standard(Some(&l));
        // Nothing leads to `approve` any more, and `review` can only loop on supplements.
        p.steps[0].decisions.retain(|d| d.kind == DecisionKind::Supplement);
        let errs = p.check(None, &any_agency);
        let codes: Vec<(&str, &str)> = errs.iter().map(|e| (e.code, e.path.as_str())).collect();
        assert!(codes.contains(&("unreachable", "steps[1]")), "{codes:?}");
        assert!(codes.contains(&("unreachable", "steps[2]")), "{codes:?}");
        assert!(codes.contains(&("no_end", "steps[0]")), "{codes:?}");
    }

    #[test]
    fn a_transfer_must_change_agency() {
        let l = limit(10, TimeUnit::WorkingDays);
        let mut p = Process::standard(Some(&l));
        p.steps[0].decisions[0].kind = DecisionKind::Transfer;
        assert!(p.check(Some(&l), &any_agency).iter().any(|e| e.code == "transfer_same_agency"));
        p.steps[1].agency = Some("H26.14".into());
        assert_eq!(p.check(Some(&l), &any_agency), vec![]);
    }

    #[test]
    fn partner_agencies_and_the_fit_to_the_limit() {
        let l = limit(10, TimeUnit::WorkingDays);
        let mut p = Process::standard(Some(&l));
        assert!(p.partner_agencies().is_empty() && p.fits(Some(&l)));
        p.steps[1].agency = Some("H26.60".into());
        p.steps[2].agency = Some("H26.60".into());
        assert_eq!(p.partner_agencies(), ["H26.60"]);
        p.steps[0].budget = Budget::hours(1);
        assert!(!p.fits(Some(&l)) && p.fits(None));
        // Calendar days: at most what they can hold (15 days → 11 working days).
        assert!(p.fits(Some(&limit(15, TimeUnit::Days))));
        assert!(!p.fits(Some(&limit(1, TimeUnit::Hours))));
    }

    #[test]
    fn a_process_without_a_decision_is_refused() {
        let l = limit(3, TimeUnit::WorkingDays);
        let mut p = Process::standard(Some(&l));
        for s in &mut p.steps {
            for d in &mut s.decisions {
                if d.kind.decides() {
                    d.kind = DecisionKind::Forward;
                }
            }
        }
        assert!(p.check(None, &any_agency).iter().any(|e| e.code == "no_decision_step"));
    }

    #[test]
    fn timeliness_on_the_control_sheet() {
        let at = |d: u32, h: u32, m: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap().and_hms_opt(h, m, 0).unwrap();
        let due = at(27, 17, 0);
        assert_eq!(Timeliness::of(at(26, 16, 0), due), Timeliness::Early);
        assert_eq!(Timeliness::of(at(27, 8, 0), due), Timeliness::OnTime);
        assert_eq!(Timeliness::of(due, due), Timeliness::OnTime);
        assert_eq!(Timeliness::of(at(27, 17, 1), due), Timeliness::Late);
        assert_eq!(DueState::of(-1, 120), DueState::Late);
        assert_eq!(DueState::of(119, 120), DueState::DueSoon);
        assert_eq!(DueState::of(120, 120), DueState::OnTrack);
    }

    #[test]
    fn the_766_progress_rule() {
        let at = |d: u32, h: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap().and_hms_opt(h, 0, 0).unwrap();
        let f = ClockFacts { appointed: Some(at(20, 17)), statutory: at(18, 17), supplement_requests: 0, finished: Some(at(20, 16)) };
        assert!(on_time_766(&f, at(25, 9)));
        // Still running: judged at `now`.
        assert!(on_time_766(&ClockFacts { finished: None, ..f }, at(20, 9)));
        assert!(!on_time_766(&ClockFacts { finished: None, ..f }, at(21, 9)));
        // A second supplement request makes it late whatever the dates.
        assert!(!on_time_766(&ClockFacts { supplement_requests: 2, ..f }, at(19, 9)));
        assert!(on_time_766(&ClockFacts { supplement_requests: 1, ..f }, at(19, 9)));
        // No appointment: the statutory limit.
        assert!(!on_time_766(&ClockFacts { appointed: None, ..f }, at(25, 9)));
    }
}
