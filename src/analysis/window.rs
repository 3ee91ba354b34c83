//! A window of days cut into the pieces the aggregates of migration 000016 answer: whole
//! years and whole months from `dyad_periods`/`category_periods`, the days at the edges from
//! the actions' indexes. A window is then a few thousand aggregate rows and at most two
//! months of actions, whatever its length; an unbounded one is the `all` rows alone.

use chrono::{Datelike, NaiveDate};

/// A half-open range of days `[start, end)`; `None` is unbounded on that side.
pub type Span = (Option<NaiveDate>, Option<NaiveDate>);

/// The pieces of a window; the ranges are disjoint and together make the window.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pieces {
    /// The window has no bounds: the `all` rows answer it alone.
    pub all: bool,
    /// Whole years (by their first day), if any.
    pub years: Option<Span>,
    /// Whole months (by their first day), at most two ranges, bounded.
    pub months: Vec<(NaiveDate, NaiveDate)>,
    /// Days read from the actions, at most two ranges, bounded.
    pub days: Vec<(NaiveDate, NaiveDate)>,
}

fn year_floor(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("1 January exists")
}

fn year_ceil(d: NaiveDate) -> NaiveDate {
    if d.ordinal() == 1 {
        d
    } else {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap_or(NaiveDate::MAX)
    }
}

fn month_floor(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first day")
}

fn month_ceil(d: NaiveDate) -> NaiveDate {
    if d.day() == 1 {
        d
    } else {
        month_floor(d)
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX)
    }
}

impl Pieces {
    /// The pieces of the inclusive window `from..=to` (either side optional).
    pub fn of(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Pieces {
        let end = to.map(|t| t.succ_opt().unwrap_or(NaiveDate::MAX));
        let mut p = Pieces::default();
        if from.is_none() && end.is_none() {
            p.all = true;
            return p;
        }
        let y0 = from.map(year_ceil);
        let y1 = end.map(year_floor);
        let whole_years = match (y0, y1) {
            (Some(a), Some(b)) => a < b,
            _ => true,
        };
        if whole_years {
            p.years = Some((y0, y1));
            if let (Some(f), Some(y0)) = (from, y0) {
                p.split_months(f, y0);
            }
            if let (Some(y1), Some(e)) = (y1, end) {
                p.split_months(y1, e);
            }
        } else if let (Some(f), Some(e)) = (from, end) {
            p.split_months(f, e);
        }
        p
    }

    /// The pieces of `start..end` with no whole years: for timelines, whose buckets are
    /// made of months (or of days, with `months` false).
    pub fn bounded(start: NaiveDate, end: NaiveDate, months: bool) -> Pieces {
        let mut p = Pieces::default();
        if months {
            p.split_months(start, end);
        } else if start < end {
            p.days.push((start, end));
        }
        p
    }

    fn split_months(&mut self, a: NaiveDate, b: NaiveDate) {
        if a >= b {
            return;
        }
        let (m0, m1) = (month_ceil(a), month_floor(b));
        if m0 < m1 {
            self.months.push((m0, m1));
            for (x, y) in [(a, m0), (m1, b)] {
                if x < y {
                    self.days.push((x, y));
                }
            }
        } else {
            self.days.push((a, b));
        }
    }

    /// The bind values the window queries take, in this order: `all`, the years' start and
    /// end (null: unbounded; both null and `all` false: no years), two month ranges and two
    /// day ranges (an empty range is a day to itself).
    pub fn binds(&self) -> Binds {
        // Any day PostgreSQL can hold (chrono's MIN is before its range).
        let day = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid day");
        let empty = (day, day);
        let two = |v: &[(NaiveDate, NaiveDate)]| {
            [
                v.first().copied().unwrap_or(empty),
                v.get(1).copied().unwrap_or(empty),
            ]
        };
        Binds {
            all: self.all,
            has_years: self.years.is_some(),
            years: self.years.unwrap_or((None, None)),
            months: two(&self.months),
            days: two(&self.days),
        }
    }
}

/// `Pieces` as bind parameters.
#[derive(Debug, Clone, Copy)]
pub struct Binds {
    pub all: bool,
    pub has_years: bool,
    pub years: Span,
    pub months: [(NaiveDate, NaiveDate); 2],
    pub days: [(NaiveDate, NaiveDate); 2],
}

/// The conditions on an aggregate table for the pieces, given the numbers of the bind
/// parameters (`$n` = all, `$n+1` = has_years, `$n+2`/`$n+3` years, `$n+4..$n+7` months).
pub fn period_condition(n: usize) -> String {
    format!(
        "((${n} AND grain = 'all') \
          OR (NOT ${n} AND ${h} AND grain = 'year' \
              AND start >= coalesce(${y0}, '-infinity'::date) \
              AND start < coalesce(${y1}, 'infinity'::date)) \
          OR (grain = 'month' AND ((start >= ${m0} AND start < ${m1}) \
                                   OR (start >= ${m2} AND start < ${m3}))))",
        h = n + 1,
        y0 = n + 2,
        y1 = n + 3,
        m0 = n + 4,
        m1 = n + 5,
        m2 = n + 6,
        m3 = n + 7,
    )
}

/// The condition on `announced_on` for the pieces' days, the day ranges being `$n..$n+3`.
pub fn day_condition(alias: &str, n: usize) -> String {
    format!(
        "(({alias}.announced_on >= ${a} AND {alias}.announced_on < ${b}) \
          OR ({alias}.announced_on >= ${c} AND {alias}.announced_on < ${d}))",
        a = n,
        b = n + 1,
        c = n + 2,
        d = n + 3,
    )
}

/// Binds `Binds` as `$1..$12` of a `diesel::sql_query` (a macro: each bind changes the
/// query's type).
#[macro_export]
macro_rules! bind_window {
    ($query:expr, $b:expr) => {{
        use diesel::sql_types::{Bool, Date, Nullable};
        let b: $crate::analysis::window::Binds = $b;
        $query
            .bind::<Bool, _>(b.all)
            .bind::<Bool, _>(b.has_years)
            .bind::<Nullable<Date>, _>(b.years.0)
            .bind::<Nullable<Date>, _>(b.years.1)
            .bind::<Date, _>(b.months[0].0)
            .bind::<Date, _>(b.months[0].1)
            .bind::<Date, _>(b.months[1].0)
            .bind::<Date, _>(b.months[1].1)
            .bind::<Date, _>(b.days[0].0)
            .bind::<Date, _>(b.days[0].1)
            .bind::<Date, _>(b.days[1].0)
            .bind::<Date, _>(b.days[1].1)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every day of `from..=to` falls in exactly one piece, and no other day does.
    fn covers(from: NaiveDate, to: NaiveDate) {
        let p = Pieces::of(Some(from), Some(to));
        let mut day = from - chrono::Days::new(400);
        let last = to + chrono::Days::new(400);
        while day <= last {
            let in_years = p.years.is_some_and(|(a, b)| {
                let y = year_floor(day);
                a.is_none_or(|a| y >= a) && b.is_none_or(|b| y < b)
            });
            let in_months = p
                .months
                .iter()
                .filter(|(a, b)| month_floor(day) >= *a && month_floor(day) < *b)
                .count();
            let in_days = p.days.iter().filter(|(a, b)| day >= *a && day < *b).count();
            let n = in_years as usize + in_months + in_days;
            let inside = day >= from && day <= to;
            assert_eq!(n, inside as usize, "{day} in {from}..={to}: {p:?}");
            day = day.succ_opt().unwrap();
        }
        assert!(p.months.len() <= 2 && p.days.len() <= 2, "{p:?}");
    }

    #[test]
    fn pieces_cover_the_window_once() {
        for (f, t) in [
            ("2020-01-01", "2020-12-31"),
            ("2020-01-01", "2020-01-31"),
            ("2020-01-15", "2020-01-15"),
            ("2019-12-31", "2020-01-01"),
            ("2003-03-15", "2024-07-20"),
            ("2020-02-10", "2020-05-03"),
            ("2020-02-01", "2021-02-28"),
            ("2020-12-31", "2021-12-31"),
        ] {
            covers(d(f), d(t));
        }
    }

    #[test]
    fn open_windows() {
        assert!(Pieces::of(None, None).all);
        let p = Pieces::of(Some(d("2020-03-05")), None);
        assert_eq!(p.years, Some((Some(d("2021-01-01")), None)));
        assert_eq!(p.months, vec![(d("2020-04-01"), d("2021-01-01"))]);
        assert_eq!(p.days, vec![(d("2020-03-05"), d("2020-04-01"))]);
        let p = Pieces::of(None, Some(d("2020-12-31")));
        assert_eq!(p.years, Some((None, Some(d("2021-01-01")))));
        assert!(p.months.is_empty() && p.days.is_empty());
    }
}
