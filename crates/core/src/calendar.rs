//! The working calendar (lịch làm việc) and the deadlines computed on it (DOMAIN.md §5).
//!
//! Which days are worked is data, not a rule: weekends, public holidays, compensatory days off
//! and the Saturdays civil servants work in exchange for a bridge day are all decided yearly,
//! so a [`Calendar`] is built from a weekend rule plus per-date overrides an administrator
//! confirmed. Office hours (e.g. 07:30–11:30 and 13:30–17:00) belong to a service point.
//!
//! Counting (Decree 118/2025; Circular 03/2025): a time limit runs from the receipt of a
//! complete dossier; the first day is not counted; a period that ends on a non-working day ends
//! at the end of the next working day; a filing outside office hours counts from the next
//! opening; a filing after the procedure's cut-off (e.g. 15:00) counts from the next working
//! day. Times here are local (Asia/Ho_Chi_Minh) `NaiveDateTime`s; callers convert.
//!
//! Speed: the days of the calendar's range are kept with a running count of working days, so
//! "the N-th working day after D" is a binary search, not a walk (the back office computes the
//! due state of every dossier in an inbox on every page).

use crate::catalog::TimeUnit;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

/// What an administrator decided about one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Ngày lễ, Tết: not worked.
    Holiday,
    /// Nghỉ bù: a day off in exchange for a holiday on a weekend, or a bridge day.
    DayOff,
    /// Làm bù: a weekend day worked in exchange.
    WorkingDay,
}

impl DayKind {
    pub fn is_working(self) -> bool {
        self == Self::WorkingDay
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Holiday, "en") => "Public holiday",
            (Self::DayOff, "en") => "Day off in lieu",
            (Self::WorkingDay, "en") => "Extra working day",
            (Self::Holiday, _) => "Ngày lễ, Tết",
            (Self::DayOff, _) => "Nghỉ bù",
            (Self::WorkingDay, _) => "Làm bù",
        }
    }
}

/// The opening periods of a working day, in order, not overlapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("office hours need at least one period, each starting before it ends, in order and not overlapping")]
    BadHours,
    #[error("the calendar range is empty or longer than 400 years")]
    BadRange,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

impl OfficeHours {
    pub fn new(periods: Vec<(NaiveTime, NaiveTime)>) -> Result<Self, CalendarError> {
        let ordered = periods.windows(2).all(|w| w[0].1 <= w[1].0);
        if periods.is_empty() || !ordered || periods.iter().any(|(a, b)| a >= b) {
            return Err(CalendarError::BadHours);
        }
        Ok(Self { periods })
    }

    /// Reads "07:30-11:30, 13:30-17:00" (periods in order, each start before its end; an
    /// en dash works too).
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let mut periods = vec![];
        for part in text.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = part.split_once(['-', '–']).ok_or(CalendarError::BadHours)?;
            let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| CalendarError::BadHours);
            periods.push((t(a)?, t(b)?));
        }
        if periods.len() > 4 {
            return Err(CalendarError::BadHours);
        }
        Self::new(periods)
    }

    /// The form `parse` reads.
    pub fn to_text(&self) -> String {
        self.periods.iter().map(|(a, b)| format!("{}-{}", a.format("%H:%M"), b.format("%H:%M"))).collect::<Vec<_>>().join(",")
    }

    /// 07:30–11:30 and 13:30–17:00, the common pattern of Hanoi's one-stop offices.
    pub fn standard() -> Self {
        Self { periods: vec![(hm(7, 30), hm(11, 30)), (hm(13, 30), hm(17, 0))] }
    }

    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    pub fn opening(&self) -> NaiveTime {
        self.periods[0].0
    }

    pub fn closing(&self) -> NaiveTime {
        self.periods[self.periods.len() - 1].1
    }

    /// Minutes open in a working day.
    pub fn minutes(&self) -> i64 {
        self.periods.iter().map(|(a, b)| (*b - *a).num_minutes()).sum()
    }

    /// Open minutes of a working day before `t`.
    fn minutes_before(&self, t: NaiveTime) -> i64 {
        self.periods.iter().map(|(a, b)| (t.min(*b) - *a).num_minutes().max(0)).sum()
    }

    /// The time of day after `m` open minutes (0 = opening; the whole day = closing).
    fn after_minutes(&self, mut m: i64) -> NaiveTime {
        for (a, b) in &self.periods {
            let len = (*b - *a).num_minutes();
            if m <= len {
                return *a + Duration::minutes(m);
            }
            m -= len;
        }
        self.closing()
    }
}

/// Working days and office hours of one service point.
#[derive(Debug, Clone)]
pub struct Calendar {
    first: NaiveDate,
    weekend: [bool; 7],
    /// Per day of the range: worked or not.
    working: Vec<bool>,
    /// `before[i]` = working days in `[first, first + i)`; one longer than `working`.
    before: Vec<u32>,
    hours: OfficeHours,
}

/// The days a calendar knows one by one (outside, only the weekend rule applies).
pub const DEFAULT_RANGE: (i32, i32) = (2000, 2100);

impl Calendar {
    /// A calendar for the years `from_year..=to_year`: the `weekend` days are off, every other
    /// day worked, then each override applied.
    pub fn new(
        from_year: i32,
        to_year: i32,
        weekend: &[Weekday],
        overrides: &[(NaiveDate, DayKind)],
        hours: OfficeHours,
    ) -> Result<Self, CalendarError> {
        let first = NaiveDate::from_ymd_opt(from_year, 1, 1).ok_or(CalendarError::BadRange)?;
        let last = NaiveDate::from_ymd_opt(to_year, 12, 31).ok_or(CalendarError::BadRange)?;
        if last < first || to_year - from_year > 400 {
            return Err(CalendarError::BadRange);
        }
        let mut wk = [false; 7];
        for d in weekend {
            wk[d.num_days_from_monday() as usize] = true;
        }
        let n = (last - first).num_days() as usize + 1;
        let mut working: Vec<bool> =
            (0..n).map(|i| !wk[(first + Duration::days(i as i64)).weekday().num_days_from_monday() as usize]).collect();
        for (d, kind) in overrides {
            if let Some(i) = index(first, n, *d) {
                working[i] = kind.is_working();
            }
        }
        let mut before = Vec::with_capacity(n + 1);
        let mut count = 0u32;
        before.push(0);
        for w in &working {
            count += u32::from(*w);
            before.push(count);
        }
        Ok(Self { first, weekend: wk, working, before, hours })
    }

    /// Saturday and Sunday off, no holidays: the base before an administrator's overrides.
    pub fn weekdays_only(hours: OfficeHours) -> Self {
        Self::new(DEFAULT_RANGE.0, DEFAULT_RANGE.1, &[Weekday::Sat, Weekday::Sun], &[], hours).expect("valid default range")
    }

    pub fn hours(&self) -> &OfficeHours {
        &self.hours
    }

    fn idx(&self, d: NaiveDate) -> Option<usize> {
        index(self.first, self.working.len(), d)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.idx(d) {
            Some(i) => self.working[i],
            None => !self.weekend[d.weekday().num_days_from_monday() as usize],
        }
    }

    /// The `n`-th working day after `d` (`d` itself not counted); `n = 0` gives `d`.
    pub fn nth_working_day_after(&self, d: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return d;
        }
        if let Some(i) = self.idx(d) {
            // Working days in [first, d] plus n: the first day j whose running count reaches it.
            let target = self.before[i + 1] + n;
            if target <= *self.before.last().expect("non-empty") {
                let j = self.before.partition_point(|&c| c < target);
                // before[j] = working days in [first, first + j): day j - 1 is the one.
                return self.first + Duration::days(j as i64 - 1);
            }
        }
        // Beyond the known range: walk (only the weekend rule applies there).
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().expect("date in range");
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// The first working day on or after `d`.
    pub fn working_day_on_or_after(&self, d: NaiveDate) -> NaiveDate {
        if self.is_working_day(d) {
            d
        } else {
            self.nth_working_day_after(d, 1)
        }
    }

    /// Working days in `(a, b]`: how many days a period from `a` to `b` uses.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b <= a {
            return 0;
        }
        match (self.idx(a), self.idx(b)) {
            (Some(i), Some(j)) => i64::from(self.before[j + 1] - self.before[i + 1]),
            _ => {
                let mut n = 0;
                let mut d = a;
                while d < b {
                    d = d.succ_opt().expect("date in range");
                    n += i64::from(self.is_working_day(d));
                }
                n
            }
        }
    }

    fn open_at(&self, d: NaiveDate) -> NaiveDateTime {
        d.and_time(self.hours.opening())
    }

    fn close_of(&self, d: NaiveDate) -> NaiveDateTime {
        d.and_time(self.hours.closing())
    }

    /// When counting starts for something received at `at`: then, if the office is open and
    /// the cut-off has not passed; the end of the lunch break during it; otherwise the next
    /// opening (a later time of the same day, or the next working day).
    pub fn effective_start(&self, at: NaiveDateTime, cutoff: Option<NaiveTime>) -> NaiveDateTime {
        let d = at.date();
        let t = at.time();
        let too_late = t >= self.hours.closing() || cutoff.is_some_and(|c| t >= c);
        if !self.is_working_day(d) || too_late {
            return self.open_at(self.nth_working_day_after(d, 1));
        }
        for (a, b) in self.hours.periods() {
            if t < *a {
                return d.and_time(*a);
            }
            if t < *b {
                return at;
            }
        }
        unreachable!("before closing, so inside or before a period")
    }

    /// Open minutes between two moments (0 if `b` is not after `a`).
    pub fn working_minutes_between(&self, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
        if b <= a {
            return 0;
        }
        let day_minutes = self.hours.minutes();
        let at = |x: NaiveDateTime| if self.is_working_day(x.date()) { self.hours.minutes_before(x.time()) } else { 0 };
        if a.date() == b.date() {
            return at(b) - at(a);
        }
        let first_day = if self.is_working_day(a.date()) { day_minutes - at(a) } else { 0 };
        let middle = self.working_days_between(a.date(), b.date().pred_opt().expect("date in range")) * day_minutes;
        first_day + middle + at(b)
    }

    /// The moment `minutes` open minutes after `start` (start moved to an opening first).
    pub fn add_working_minutes(&self, start: NaiveDateTime, minutes: i64) -> NaiveDateTime {
        let s = self.effective_start(start, None);
        if minutes <= 0 {
            return s;
        }
        let day_minutes = self.hours.minutes();
        let used = self.hours.minutes_before(s.time());
        let total = used + minutes.max(0);
        // Whole days beyond the first, then the rest on the last day; a total that ends
        // exactly at closing stays on that day.
        let extra_days = ((total - 1).max(0) / day_minutes) as u32;
        let day = self.nth_working_day_after(s.date(), extra_days);
        let rest = total - i64::from(extra_days) * day_minutes;
        day.and_time(self.hours.after_minutes(rest))
    }

    /// The due moment of a time limit for something received at `received` (local time).
    pub fn due(&self, received: NaiveDateTime, value: u32, unit: TimeUnit, cutoff: Option<NaiveTime>) -> NaiveDateTime {
        match unit {
            TimeUnit::SameDay => self.close_of(self.effective_start(received, cutoff).date()),
            TimeUnit::WorkingDays => {
                // A receipt after the cut-off or outside office hours counts as received at the
                // next opening; the day of receipt is not counted.
                let base = self.effective_start(received, cutoff).date();
                self.close_of(self.nth_working_day_after(base, value))
            }
            TimeUnit::WorkingHours => self.add_working_minutes(self.effective_start(received, cutoff), i64::from(value) * 60),
            TimeUnit::Days => {
                let end = self.working_day_on_or_after(received.date() + Duration::days(i64::from(value)));
                // "0 days" after closing time: the next working day's closing.
                let end = if self.close_of(end) < received { self.nth_working_day_after(end, 1) } else { end };
                self.close_of(end)
            }
            TimeUnit::Hours => received + Duration::hours(i64::from(value)),
        }
    }
}

fn index(first: NaiveDate, len: usize, d: NaiveDate) -> Option<usize> {
    let i = (d - first).num_days();
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// The fixed-date public holidays of a year (Labour Code 2019 art. 112, and Vietnamese
/// Culture Day on 24 November from 2026). Tết and Hùng Kings' day follow the lunar calendar,
/// and the day next to 2 September is fixed yearly: an administrator adds those.
pub fn fixed_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let d = |m, day| NaiveDate::from_ymd_opt(year, m, day).expect("valid date");
    let mut out =
        vec![(d(1, 1), "Tết Dương lịch"), (d(4, 30), "Ngày Chiến thắng"), (d(5, 1), "Ngày Quốc tế Lao động"), (d(9, 2), "Quốc khánh")];
    if year >= 2026 {
        out.push((d(11, 24), "Ngày Văn hóa Việt Nam"));
    }
    out
}

/// A proposed calendar entry for an administrator to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

/// Default public holidays of `year` for an administrator to confirm or change: the fixed
/// dates, Tết (lunar new year's eve and the first four days of the year: five days, the usual
/// pattern; the Prime Minister fixes the real days each year), Hùng Kings' day (10/3 lunar),
/// the day before 2 September, and a compensatory day off on the next free weekday for each
/// holiday that falls on a weekend (Labour Code 2019 art. 112).
pub fn proposed_holidays(year: i32) -> Vec<Proposal> {
    let mut days: Vec<(NaiveDate, String)> = fixed_holidays(year).into_iter().map(|(d, n)| (d, n.to_owned())).collect();
    let new_year = crate::lunar::lunar_new_year(year);
    for k in -1..=3 {
        days.push((new_year + Duration::days(k), "Tết Nguyên đán".to_owned()));
    }
    days.push((crate::lunar::hung_kings_day(year), "Giỗ Tổ Hùng Vương".to_owned()));
    if let Some(d) = NaiveDate::from_ymd_opt(year, 9, 1) {
        days.push((d, "Quốc khánh (ngày liền kề)".to_owned()));
    }
    days.sort();
    days.dedup_by_key(|(d, _)| *d);
    let taken: std::collections::BTreeSet<NaiveDate> = days.iter().map(|(d, _)| *d).collect();
    let mut out: Vec<Proposal> = days.iter().map(|(d, n)| Proposal { date: *d, kind: DayKind::Holiday, name: n.clone() }).collect();
    let mut used = taken.clone();
    for (d, n) in &days {
        if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            let mut off = *d;
            while matches!(off.weekday(), Weekday::Sat | Weekday::Sun) || used.contains(&off) {
                off = off.succ_opt().expect("date in range");
            }
            used.insert(off);
            out.push(Proposal { date: off, kind: DayKind::DayOff, name: format!("Nghỉ bù {n}") });
        }
    }
    out.sort_by_key(|p| p.date);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_hours_read_and_written_as_text() {
        let h = OfficeHours::parse(" 07:30-11:30, 13:30–17:00 ").unwrap();
        assert_eq!(h, OfficeHours::standard());
        assert_eq!(h.to_text(), "07:30-11:30,13:30-17:00");
        assert_eq!(OfficeHours::parse(&h.to_text()).unwrap(), h);
        for bad in ["", "7h-11h", "11:30-07:30", "07:30-11:30,11:00-17:00", "25:00-26:00", "08:00"] {
            assert!(OfficeHours::parse(bad).is_err(), "{bad}");
        }
    }
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        date(y, m, d).and_hms_opt(h, min, 0).unwrap()
    }

    /// Hanoi 2026 as DOMAIN.md §5 gives it: Tết 16–20 Feb, Hùng Kings 26 Apr (a Sunday, so
    /// 27 Apr off), 30 Apr, 1 May, 1–2 Sep, 24 Nov, 1 Jan.
    fn hanoi_2026() -> Calendar {
        use DayKind::*;
        let mut o = vec![(date(2026, 1, 1), Holiday)];
        for d in 16..=20 {
            o.push((date(2026, 2, d), Holiday));
        }
        o.extend([
            (date(2026, 4, 26), Holiday),
            (date(2026, 4, 27), DayOff),
            (date(2026, 4, 30), Holiday),
            (date(2026, 5, 1), Holiday),
            (date(2026, 9, 1), Holiday),
            (date(2026, 9, 2), Holiday),
            (date(2026, 11, 24), Holiday),
        ]);
        Calendar::new(2020, 2030, &[Weekday::Sat, Weekday::Sun], &o, OfficeHours::standard()).unwrap()
    }

    #[test]
    fn real_cases_on_the_2026_calendar() {
        let c = hanoi_2026();
        // Filed Friday 13 Feb 2026 at 09:00, 5 working days: Tết takes 16–20 Feb, so the
        // days are 23, 24, 25, 26, 27 Feb → due at closing on Friday 27 Feb.
        assert_eq!(c.due(at(2026, 2, 13, 9, 0), 5, TimeUnit::WorkingDays, None), at(2026, 2, 27, 17, 0));
        // Wednesday 29 Apr 2026, 3 working days: 30 Apr and 1 May are holidays, then a weekend
        // → 4, 5, 6 May.
        assert_eq!(c.due(at(2026, 4, 29, 10, 0), 3, TimeUnit::WorkingDays, None), at(2026, 5, 6, 17, 0));
        // A civil-status request after the 15:00 cut-off counts from the next working day:
        // Monday 16:00 + 1 working day → as if received Tuesday → due Wednesday.
        let cut = Some(hm(15, 0));
        assert_eq!(c.due(at(2026, 3, 2, 16, 0), 1, TimeUnit::WorkingDays, cut), at(2026, 3, 4, 17, 0));
        assert_eq!(c.due(at(2026, 3, 2, 14, 59), 1, TimeUnit::WorkingDays, cut), at(2026, 3, 3, 17, 0));
        // Filed on a Saturday: counts from Monday, the first day not counted → due Tuesday.
        assert_eq!(c.due(at(2026, 3, 7, 10, 0), 1, TimeUnit::WorkingDays, None), at(2026, 3, 10, 17, 0));
        // Same working day, filed in the evening → tomorrow's closing.
        assert_eq!(c.due(at(2026, 3, 2, 18, 0), 0, TimeUnit::SameDay, None), at(2026, 3, 3, 17, 0));
        // 8 working hours from an online filing at 16:00 on Friday 24 Apr: 1 h that day, then
        // 26 (Sunday, holiday) and 27 (day off) skipped → 7 h on Tuesday 28 Apr: 7.5 h open a
        // day, so 07:30 + 4 h (to 11:30) + 3 h from 13:30 → 16:30.
        assert_eq!(c.due(at(2026, 4, 24, 16, 0), 8, TimeUnit::WorkingHours, None), at(2026, 4, 28, 16, 30));
        // During lunch: counts from 13:30.
        assert_eq!(c.effective_start(at(2026, 3, 2, 12, 10), None), at(2026, 3, 2, 13, 30));
        // 15 calendar days ending on Sunday 15 Mar → the end of Monday 16 Mar.
        assert_eq!(c.due(at(2026, 2, 28, 9, 0), 15, TimeUnit::Days, None), at(2026, 3, 16, 17, 0));
        // Vietnamese Culture Day, Tuesday 24 Nov 2026, is off.
        assert!(!c.is_working_day(date(2026, 11, 24)));
        assert_eq!(c.working_days_between(date(2026, 11, 23), date(2026, 11, 27)), 3);
    }

    #[test]
    fn proposed_holidays_for_2026_match_the_published_calendar() {
        let p = proposed_holidays(2026);
        let holidays: Vec<NaiveDate> = p.iter().filter(|x| x.kind == DayKind::Holiday).map(|x| x.date).collect();
        for (m, d) in [(1, 1), (2, 16), (2, 17), (2, 18), (2, 19), (2, 20), (4, 26), (4, 30), (5, 1), (9, 1), (9, 2), (11, 24)] {
            assert!(holidays.contains(&date(2026, m, d)), "{d}/{m}/2026 proposed: {holidays:?}");
        }
        assert_eq!(holidays.len(), 12);
        // Hùng Kings' day 2026 is a Sunday: Monday 27 April off (as the government decided).
        let offs: Vec<NaiveDate> = p.iter().filter(|x| x.kind == DayKind::DayOff).map(|x| x.date).collect();
        assert_eq!(offs, [date(2026, 4, 27)]);
        // 2027: lunar new year's day 6 Feb (a Saturday), Hùng Kings' day 16 Apr.
        let p = proposed_holidays(2027);
        assert!(p.iter().any(|x| x.date == date(2027, 2, 6) && x.kind == DayKind::Holiday));
        assert!(p.iter().any(|x| x.date == date(2027, 4, 16) && x.kind == DayKind::Holiday));
        // Tết 5–9 Feb 2027 covers a weekend: days off follow on the next free weekdays.
        assert!(p.iter().filter(|x| x.kind == DayKind::DayOff).all(|x| !matches!(x.date.weekday(), Weekday::Sat | Weekday::Sun)));
    }

    #[test]
    fn extra_working_days_count_and_hours_are_checked() {
        // A Saturday worked in exchange for a bridge day.
        let c = Calendar::new(
            2026,
            2026,
            &[Weekday::Sat, Weekday::Sun],
            &[(date(2026, 1, 2), DayKind::DayOff), (date(2026, 1, 10), DayKind::WorkingDay)],
            OfficeHours::standard(),
        )
        .unwrap();
        assert!(!c.is_working_day(date(2026, 1, 2)) && c.is_working_day(date(2026, 1, 10)));
        // Thursday 8 Jan + 2 working days: Friday 9, Saturday 10.
        assert_eq!(c.nth_working_day_after(date(2026, 1, 8), 2), date(2026, 1, 10));
        assert_eq!(OfficeHours::new(vec![(hm(13, 0), hm(12, 0))]), Err(CalendarError::BadHours));
        assert_eq!(OfficeHours::new(vec![(hm(8, 0), hm(12, 0)), (hm(11, 0), hm(17, 0))]), Err(CalendarError::BadHours));
        assert_eq!(OfficeHours::new(vec![]), Err(CalendarError::BadHours));
        assert!(Calendar::new(2030, 2020, &[], &[], OfficeHours::standard()).is_err());
        assert_eq!(OfficeHours::standard().minutes(), 450);
    }

    #[test]
    fn beyond_the_known_range_only_the_weekend_rule_applies() {
        let c = hanoi_2026();
        // 2031 is outside 2020–2030: 1 Jan 2031 (Wednesday) counts as a working day.
        assert!(c.is_working_day(date(2031, 1, 1)));
        assert_eq!(c.nth_working_day_after(date(2030, 12, 31), 3), date(2031, 1, 3));
        assert_eq!(c.working_days_between(date(2030, 12, 30), date(2031, 1, 6)), 5);
    }

    fn naive_nth(c: &Calendar, d: NaiveDate, n: u32) -> NaiveDate {
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().unwrap();
            if c.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn adding_working_days_lands_on_a_working_day_agrees_with_walking_and_is_monotonic(
            offset in 0i64..3900, n in 0u32..120
        ) {
            let c = hanoi_2026();
            let d = date(2020, 1, 1) + Duration::days(offset);
            let got = c.nth_working_day_after(d, n);
            prop_assert_eq!(got, naive_nth(&c, d, n));
            if n > 0 {
                prop_assert!(c.is_working_day(got));
                prop_assert!(got > d);
                prop_assert!(c.nth_working_day_after(d, n - 1) < got);
                prop_assert_eq!(c.working_days_between(d, got), i64::from(n));
            }
        }

        #[test]
        fn working_minutes_round_trip_and_stay_inside_office_hours(
            offset in 0i64..3900, minute_of_day in 0u32..1440, minutes in 0i64..20_000
        ) {
            let c = hanoi_2026();
            let start = (date(2020, 1, 1) + Duration::days(offset)).and_hms_opt(minute_of_day / 60, minute_of_day % 60, 0).unwrap();
            let s = c.effective_start(start, None);
            prop_assert!(s >= start);
            prop_assert!(c.is_working_day(s.date()));
            let end = c.add_working_minutes(start, minutes);
            prop_assert!(c.is_working_day(end.date()));
            let t = end.time();
            prop_assert!(c.hours().periods().iter().any(|(a, b)| *a <= t && t <= *b), "{} outside office hours", end);
            prop_assert_eq!(c.working_minutes_between(s, end), minutes);
            // More minutes never end earlier.
            prop_assert!(c.add_working_minutes(start, minutes + 1) >= end);
        }

        #[test]
        fn due_moments_are_never_on_a_non_working_day_or_before_receipt(
            offset in 0i64..3900, minute_of_day in 0u32..1440, value in 0u32..60, unit in 0usize..4, cutoff in proptest::option::of(8u32..17)
        ) {
            let c = hanoi_2026();
            let received = (date(2020, 1, 1) + Duration::days(offset)).and_hms_opt(minute_of_day / 60, minute_of_day % 60, 0).unwrap();
            let unit = [TimeUnit::WorkingDays, TimeUnit::WorkingHours, TimeUnit::Days, TimeUnit::SameDay][unit];
            let due = c.due(received, value, unit, cutoff.map(|h| hm(h, 0)));
            prop_assert!(due >= received);
            prop_assert!(c.is_working_day(due.date()), "{:?} {} due {}", unit, value, due);
            // One more unit never makes it earlier.
            prop_assert!(c.due(received, value + 1, unit, cutoff.map(|h| hm(h, 0))) >= due);
        }
    }
}
