//! A window of days cut into the pieces the aggregates of migration 000016 answer: whole
//! years, quarters and months from `dyad_period_rows`/`category_period_rows` (the stored
//! rows and those of tallies not yet folded in, migration 000020), the days at the edges
//! from the day rows of `dyad_periods` (or, for counts by category, the actions' indexes). A window is then a few aggregate rows per dyad (at most a run
//! of years, three quarters and two months at each end) and at most two months of actions,
//! whatever its length; an unbounded one is the `all` rows alone.

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
    /// Whole quarters (by their first day), at most two ranges, bounded.
    pub quarters: Vec<(NaiveDate, NaiveDate)>,
    /// Whole months (by their first day), at most four ranges, bounded.
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

fn quarter_floor(d: NaiveDate) -> NaiveDate {
    let month = (d.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), month, 1).expect("a quarter's first day exists")
}

fn quarter_ceil(d: NaiveDate) -> NaiveDate {
    let floor = quarter_floor(d);
    if floor == d {
        d
    } else {
        floor
            .checked_add_months(chrono::Months::new(3))
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
                p.split_quarters(f, y0);
            }
            if let (Some(y1), Some(e)) = (y1, end) {
                p.split_quarters(y1, e);
            }
        } else if let (Some(f), Some(e)) = (from, end) {
            p.split_quarters(f, e);
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

    /// `a..b` (within a year, or two at most) as whole quarters between month pieces.
    fn split_quarters(&mut self, a: NaiveDate, b: NaiveDate) {
        if a >= b {
            return;
        }
        let (q0, q1) = (quarter_ceil(month_ceil(a)), quarter_floor(month_floor(b)));
        if q0 < q1 {
            self.quarters.push((q0, q1));
            self.split_months(a, q0);
            self.split_months(q1, b);
        } else {
            self.split_months(a, b);
        }
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

    /// The bind values the window queries take, in this order: the grain of the `all` arm
    /// (`all`, or `none` to match nothing), that of the years' arm (`year` or `none`), the
    /// years' start and end (null: unbounded), two quarter ranges, four month ranges and two
    /// day ranges (an empty range is a day to itself).
    pub fn binds(&self) -> Binds {
        Binds {
            all: self.all,
            has_years: self.years.is_some(),
            years: self.years.unwrap_or((None, None)),
            quarters: padded(&self.quarters),
            months: padded(&self.months),
            days: padded(&self.days),
        }
    }
}

/// `ranges` followed by empty ranges, `N` in all.
fn padded<const N: usize>(ranges: &[(NaiveDate, NaiveDate)]) -> [(NaiveDate, NaiveDate); N] {
    // Any day PostgreSQL can hold (chrono's MIN is before its range).
    let day = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid day");
    assert!(ranges.len() <= N, "{} ranges for {N} arms", ranges.len());
    std::array::from_fn(|i| ranges.get(i).copied().unwrap_or((day, day)))
}

/// `Pieces` as bind parameters.
#[derive(Debug, Clone, Copy)]
pub struct Binds {
    pub all: bool,
    pub has_years: bool,
    pub years: Span,
    pub quarters: [(NaiveDate, NaiveDate); 2],
    pub months: [(NaiveDate, NaiveDate); 4],
    pub days: [(NaiveDate, NaiveDate); 2],
}

#[derive(diesel::QueryableByName)]
struct Bounds {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
    first: Option<NaiveDate>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
    last: Option<NaiveDate>,
}

/// The window with the bounds that exclude no live action dropped: a window holding all the
/// data is then answered by the `all` rows alone (6,000 rows at 1M actions, against 60,000
/// year rows). Two probes at the ends of the index on `announced_on`.
pub async fn open_ends(
    conn: &mut diesel_async::AsyncPgConnection,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> crate::error::AppResult<(Option<NaiveDate>, Option<NaiveDate>)> {
    use diesel_async::RunQueryDsl;
    if from.is_none() && to.is_none() {
        return Ok((None, None));
    }
    let b: Bounds = diesel::sql_query(
        "SELECT (SELECT announced_on FROM actions WHERE deleted_at IS NULL \
                 ORDER BY announced_on LIMIT 1) AS first, \
                (SELECT announced_on FROM actions WHERE deleted_at IS NULL \
                 ORDER BY announced_on DESC LIMIT 1) AS last",
    )
    .get_result(conn)
    .await?;
    let from = from.filter(|f| b.first.is_some_and(|first| *f > first));
    let to = to.filter(|t| b.last.is_some_and(|last| *t < last));
    Ok((from, to))
}

/// `query` once per kind of aggregate piece, as `UNION ALL` arms, its `{period}` replaced by
/// the arm's condition on `grain` and `start` (bind parameters `$1..$16`). Separate arms with
/// `grain = $n` rather than one condition with ORs: PostgreSQL then prunes the partitions of
/// the pieces a window has not at executor start, and scans each remaining one by index
/// range, in the generic plans of prepared statements too (an OR of flags made it filter
/// every row of every partition: 76 ms for a one-day window at 1M actions).
pub fn period_arms(query: &str) -> String {
    [
        "grain = $1",
        "grain = $2 AND start >= coalesce($3, '-infinity'::date) \
         AND start < coalesce($4, 'infinity'::date)",
    ]
    .into_iter()
    .map(String::from)
    .chain(
        [
            (5, "quarter"),
            (7, "quarter"),
            (9, "month"),
            (11, "month"),
            (13, "month"),
            (15, "month"),
        ]
        .map(|(n, grain)| format!("grain = '{grain}' AND start >= ${n} AND start < ${}", n + 1)),
    )
    .map(|c| query.replace("{period}", &format!("({c})")))
    .collect::<Vec<_>>()
    .join("\nUNION ALL\n")
}

/// `period_arms` of a query on `dyad_periods`, which also holds days, and the window's day
/// ranges (`$17..$20`) as two more arms of day rows.
pub fn dyad_arms(query: &str) -> String {
    let days = [(17, 18), (19, 20)].map(|(a, b)| {
        query.replace(
            "{period}",
            &format!("(grain = 'day' AND start >= ${a} AND start < ${b})"),
        )
    });
    std::iter::once(period_arms(query))
        .chain(days)
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

/// `query` once per day range (`$17..$20`), as `UNION ALL` arms, its `{days}` replaced by
/// the condition on `alias.announced_on`.
pub fn day_arms(query: &str, alias: &str) -> String {
    [(17, 18), (19, 20)]
        .iter()
        .map(|(a, b)| {
            query.replace(
                "{days}",
                &format!("({alias}.announced_on >= ${a} AND {alias}.announced_on < ${b})"),
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

/// Binds `Binds` as `$1..$20` of a `diesel::sql_query` (a macro: each bind changes the
/// query's type).
#[macro_export]
macro_rules! bind_window {
    ($query:expr, $b:expr) => {{
        use diesel::sql_types::{Date, Nullable, Text};
        let b: $crate::analysis::window::Binds = $b;
        $query
            .bind::<Text, _>(if b.all { "all" } else { "none" })
            .bind::<Text, _>(if b.has_years && !b.all {
                "year"
            } else {
                "none"
            })
            .bind::<Nullable<Date>, _>(b.years.0)
            .bind::<Nullable<Date>, _>(b.years.1)
            .bind::<Date, _>(b.quarters[0].0)
            .bind::<Date, _>(b.quarters[0].1)
            .bind::<Date, _>(b.quarters[1].0)
            .bind::<Date, _>(b.quarters[1].1)
            .bind::<Date, _>(b.months[0].0)
            .bind::<Date, _>(b.months[0].1)
            .bind::<Date, _>(b.months[1].0)
            .bind::<Date, _>(b.months[1].1)
            .bind::<Date, _>(b.months[2].0)
            .bind::<Date, _>(b.months[2].1)
            .bind::<Date, _>(b.months[3].0)
            .bind::<Date, _>(b.months[3].1)
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
            let in_quarters = p
                .quarters
                .iter()
                .filter(|(a, b)| quarter_floor(day) >= *a && quarter_floor(day) < *b)
                .count();
            let in_months = p
                .months
                .iter()
                .filter(|(a, b)| month_floor(day) >= *a && month_floor(day) < *b)
                .count();
            let in_days = p.days.iter().filter(|(a, b)| day >= *a && day < *b).count();
            let n = in_years as usize + in_quarters + in_months + in_days;
            let inside = day >= from && day <= to;
            assert_eq!(n, inside as usize, "{day} in {from}..={to}: {p:?}");
            day = day.succ_opt().unwrap();
        }
        assert!(
            p.quarters.len() <= 2 && p.months.len() <= 4 && p.days.len() <= 2,
            "{p:?}"
        );
        // Each partial year is at most 2 months, 3 quarters and 2 months.
        let per_end = |v: &[(NaiveDate, NaiveDate)], unit: u32| -> u32 {
            v.iter().map(|(a, b)| months_between(*a, *b) / unit).sum()
        };
        assert!(
            per_end(&p.quarters, 3) <= 6 && per_end(&p.months, 1) <= 8,
            "{p:?}"
        );
    }

    fn months_between(a: NaiveDate, b: NaiveDate) -> u32 {
        ((b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32) as u32
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
            ("2019-03-15", "2024-10-20"),
            ("2020-04-01", "2020-09-30"),
            ("2020-02-29", "2020-11-02"),
        ] {
            covers(d(f), d(t));
        }
    }

    #[test]
    fn open_windows() {
        assert!(Pieces::of(None, None).all);
        let p = Pieces::of(Some(d("2020-03-05")), None);
        assert_eq!(p.years, Some((Some(d("2021-01-01")), None)));
        assert_eq!(p.quarters, vec![(d("2020-04-01"), d("2021-01-01"))]);
        assert!(p.months.is_empty());
        assert_eq!(p.days, vec![(d("2020-03-05"), d("2020-04-01"))]);
        let p = Pieces::of(None, Some(d("2020-12-31")));
        assert_eq!(p.years, Some((None, Some(d("2021-01-01")))));
        assert!(p.months.is_empty() && p.days.is_empty());
    }
}
