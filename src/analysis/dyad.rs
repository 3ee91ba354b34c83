//! Directed-dyad summaries: how much each side did to the other, how often and how fast the
//! other answered, in what proportion, and what became of threats.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::sql_types::{Date, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::window::{dyad_arms, Pieces};
use crate::bind_window;
use crate::error::{AppError, AppResult};

/// How answers compare with what they answer: `mirror` when the severities differ by at most
/// 1.0, `escalate` when the answer is more than 1.0 more negative, `de_escalate` otherwise.
#[derive(Debug, Default, Serialize, ToSchema, PartialEq)]
pub struct Proportionality {
    pub mirror: i64,
    pub escalate: i64,
    pub de_escalate: i64,
}

/// One direction of a dyad.
#[derive(Debug, Serialize, ToSchema)]
pub struct Direction {
    /// Actions of this direction announced in the window.
    pub count: i64,
    /// Those actions by type category.
    pub by_category: BTreeMap<String, i64>,
    /// Those actions by current status.
    pub by_status: BTreeMap<String, i64>,
    pub severity_sum: f64,
    /// Null when `count` is 0.
    #[schema(required = true)]
    pub severity_mean: Option<f64>,
    /// How many of them the other side answered (a response edge from one of its live
    /// actions announced no later than `to`).
    pub answered: i64,
    /// `answered / count`; null when `count` is 0.
    #[schema(required = true)]
    pub reciprocity_rate: Option<f64>,
    /// Median, over the answered actions, of the days from the action to its earliest answer.
    #[schema(required = true)]
    pub median_response_days: Option<f64>,
    /// The answers this side gave (in the window) to the other side's actions, classified.
    pub proportionality: Proportionality,
    /// This side's actions of the `threat` category.
    pub threats: i64,
    /// Threats that an action of the same initiator, announced no later than `to`,
    /// `implements`.
    pub threats_implemented: i64,
    /// Median days from a threat to its earliest implementing action.
    #[schema(required = true)]
    pub median_days_to_implement: Option<f64>,
    /// Ids of the threats not (yet) implemented, oldest first.
    pub pending_threats: Vec<Uuid>,
    /// How many of this side's actions in the window were in force on `to` (default today).
    pub in_force: i64,
}

/// Both directions of a dyad.
#[derive(Debug, Serialize, ToSchema)]
pub struct DyadSummary {
    pub a: String,
    pub b: String,
    /// Start of the window on `announced_on` (inclusive), if any.
    #[schema(required = true)]
    pub from: Option<NaiveDate>,
    /// End of the window (inclusive), if any; `in_force` is counted on this day (or today).
    #[schema(required = true)]
    pub to: Option<NaiveDate>,
    pub a_to_b: Direction,
    pub b_to_a: Direction,
    /// `a_to_b.severity_sum - b_to_a.severity_sum`.
    pub balance: f64,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Jsonb)]
    metrics: serde_json::Value,
}

// One direction (initiator `$1`, target `$2`) in one pass over the covering dyad index:
// every metric is an aggregate of the window's live actions, because what the response graph
// says about each action (its earliest answer from the other side, its earliest
// implementation by its own side, how its own answers compare with what they answer) is kept
// on the action by triggers (migration 000008_graph_facts). An answer or implementation
// counts when announced no later than `to`, so comparing the earliest one with `to` decides
// it. The pass is one hashed aggregate by type and status with no per-row sorting: the values
// that medians and the pending list need are gathered into arrays, small enough to sort
// afterwards (ordered aggregates here would sort all the rows, and spill). `in_force` counts
// by current status, which is the status on the day asked about for every action without a
// change dated after it (the current status is always the last change's); `corrections`
// reads the history of the others, found through the index on `changed_on`. Parameters are
// used directly so that the planner sees their values.
const DIRECTION_SQL: &str = "
WITH threat_types AS MATERIALIZED (
    SELECT code FROM action_types WHERE category = 'threat'
),
-- The window's live actions of the direction; inlined where used (NOT MATERIALIZED).
window_actions AS NOT MATERIALIZED (
    SELECT * FROM actions x
    WHERE x.initiator_id = $1 AND x.target_id = $2 AND x.deleted_at IS NULL
      AND ($3::date IS NULL OR x.announced_on >= $3::date)
      AND ($4::date IS NULL OR x.announced_on <= $4::date)
),
groups AS MATERIALIZED (
    SELECT x.type_code, x.status, count(*) AS n, sum(x.severity) AS sev_sum,
           count(*) FILTER (WHERE in_force(x.status, x.effective_to, $5::date)) AS in_force,
           -- An answer dated by month or year stands on its period's first day, which may
           -- come before what it answers: it came no sooner than that, so 0 days.
           array_agg(greatest(x.first_answer_on - x.announced_on, 0))
               FILTER (WHERE x.first_answer_on <= coalesce($4::date, 'infinity'))
               AS answer_days,
           sum(x.answers_mirror) AS mirror, sum(x.answers_escalate) AS escalate,
           sum(x.answers_de_escalate) AS de_escalate,
           array_agg(greatest(x.first_implemented_on - x.announced_on, 0))
               FILTER (WHERE x.first_implemented_on <= coalesce($4::date, 'infinity'))
               AS implement_days,
           array_agg(x.id)
               FILTER (WHERE (x.first_implemented_on <= coalesce($4::date, 'infinity'))
                             IS NOT TRUE AND x.type_code IN (SELECT code FROM threat_types))
               AS unimplemented,
           array_agg(x.announced_on)
               FILTER (WHERE (x.first_implemented_on <= coalesce($4::date, 'infinity'))
                             IS NOT TRUE AND x.type_code IN (SELECT code FROM threat_types))
               AS unimplemented_on
    FROM window_actions x
    GROUP BY 1, 2
),
-- What `in_force` above got wrong: actions whose status changed after the day, for which
-- the status on the day comes from the history (none at all when the day is today).
corrections AS (
    SELECT sum(in_force((SELECT s.status FROM status_changes s
                         WHERE s.action_id = x.id AND s.changed_on <= $5::date
                         ORDER BY s.changed_on DESC, s.id DESC LIMIT 1),
                        x.effective_to, $5::date)::int
               - in_force(x.status, x.effective_to, $5::date)::int) AS delta
    FROM window_actions x
    WHERE x.id IN (SELECT action_id FROM status_changes WHERE changed_on > $5::date)
),
typed AS (
    SELECT g.*, t.category, t.category = 'threat' AS threat
    FROM groups g JOIN action_types t ON t.code = g.type_code
),
totals AS (
    SELECT sum(n) AS n, sum(sev_sum) AS sev_sum, sum(in_force) AS in_force,
           sum(cardinality(answer_days)) AS answered, sum(mirror) AS mirror,
           sum(escalate) AS escalate, sum(de_escalate) AS de_escalate,
           sum(n) FILTER (WHERE threat) AS threats,
           sum(cardinality(implement_days)) FILTER (WHERE threat) AS implemented
    FROM typed
)
SELECT jsonb_build_object(
    'count', coalesce(t.n, 0),
    'by_category', (SELECT coalesce(jsonb_object_agg(category, n), '{}')
                    FROM (SELECT category, sum(n) AS n FROM typed GROUP BY category) c),
    'by_status', (SELECT coalesce(jsonb_object_agg(status, n), '{}')
                  FROM (SELECT status, sum(n) AS n FROM typed GROUP BY status) s),
    'severity_sum', coalesce(t.sev_sum, 0),
    'severity_mean', t.sev_sum / nullif(t.n, 0),
    'answered', coalesce(t.answered, 0),
    'median_response_days',
        (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v)
         FROM typed, unnest(answer_days) v),
    'mirror', coalesce(t.mirror, 0),
    'escalate', coalesce(t.escalate, 0),
    'de_escalate', coalesce(t.de_escalate, 0),
    'threats', coalesce(t.threats, 0),
    'threats_implemented', coalesce(t.implemented, 0),
    'median_days_to_implement',
        (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v)
         FROM typed, unnest(implement_days) v WHERE threat),
    'pending_threats',
        (SELECT coalesce(jsonb_agg(p.id ORDER BY p.announced_on, p.id), '[]')
         FROM typed, unnest(unimplemented, unimplemented_on) p(id, announced_on)
         WHERE threat),
    'in_force', coalesce(t.in_force, 0) + coalesce((SELECT delta FROM corrections), 0)
) AS metrics
FROM totals t";

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn direction(m: &serde_json::Value) -> AppResult<Direction> {
    let int = |k: &str| m[k].as_i64().unwrap_or(0);
    let float = |k: &str| m[k].as_f64();
    let counts = |k: &str| -> BTreeMap<String, i64> {
        m[k].as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_i64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let pending: Vec<Uuid> = serde_json::from_value(m["pending_threats"].clone())
        .map_err(|e| AppError::Internal(format!("dyad summary: {e}")))?;
    let count = int("count");
    let answered = int("answered");
    Ok(Direction {
        count,
        by_category: counts("by_category"),
        by_status: counts("by_status"),
        severity_sum: round(float("severity_sum").unwrap_or(0.0)),
        severity_mean: float("severity_mean").map(round),
        answered,
        reciprocity_rate: (count > 0).then(|| round(answered as f64 / count as f64)),
        median_response_days: float("median_response_days"),
        proportionality: Proportionality {
            mirror: int("mirror"),
            escalate: int("escalate"),
            de_escalate: int("de_escalate"),
        },
        threats: int("threats"),
        threats_implemented: int("threats_implemented"),
        median_days_to_implement: float("median_days_to_implement"),
        pending_threats: pending,
        in_force: int("in_force"),
    })
}

/// One direction of the dyad, on its own connection, inside `summary`'s read transaction.
async fn direction_of(
    conn: &mut AsyncPgConnection,
    initiator: Uuid,
    target: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    day: NaiveDate,
) -> AppResult<Direction> {
    let row: Row = diesel::sql_query(DIRECTION_SQL)
        .bind::<SqlUuid, _>(initiator)
        .bind::<SqlUuid, _>(target)
        .bind::<Nullable<Date>, _>(from)
        .bind::<Nullable<Date>, _>(to)
        .bind::<Date, _>(day)
        .get_result(conn)
        .await?;
    direction(&row.metrics)
}

/// A dyad's member, named by the path or query parameter `field`: a live state or IGO.
pub async fn member(
    conn: &mut AsyncPgConnection,
    field: &str,
    code: &str,
) -> AppResult<(Uuid, String)> {
    // As the lists' filters say of an empty value: a mistake in the request, not a search.
    if code.trim().is_empty() {
        return Err(AppError::bad_param(
            field,
            "is empty; give a state's or IGO's code, e.g. `USA`",
        ));
    }
    let found = crate::models::actor::refs_by_codes(conn, &[code]).await?;
    let actor = found
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found(format_args!("actor `{code}`")))?;
    let kind: crate::models::enums::ActorKind = actor
        .kind
        .parse()
        .unwrap_or(crate::models::enums::ActorKind::Organization);
    if !kind.is_dyad_member() {
        return Err(AppError::bad_param(
            field,
            format!(
                "`{code}` is a {kind}; actions are between states or IGOs, and so are these \
                 figures (the measures that name a {kind}: GET /v1/actors/{code}/designations)"
            ),
        ));
    }
    Ok((actor.id, actor.code))
}

/// The two members of a dyad, which must differ.
pub async fn members(
    conn: &mut AsyncPgConnection,
    a: &str,
    b: &str,
) -> AppResult<((Uuid, String), (Uuid, String))> {
    let a = member(conn, "a", a).await?;
    let b = member(conn, "b", b).await?;
    if a.0 == b.0 {
        return Err(AppError::bad_param(
            "b",
            format!("a dyad is two different states or IGOs; `{}` is both", a.1),
        ));
    }
    Ok((a, b))
}

/// Both directions of a dyad, read from one snapshot. The directions are independent (the
/// graph facts they read are stored per action), so with a `spare` connection they run at
/// the same time, on two PostgreSQL backends; without one, one after the other on `conn`
/// (more spares than one are not used).
pub async fn summary(
    conn: &mut AsyncPgConnection,
    spares: Vec<&mut AsyncPgConnection>,
    a: (Uuid, String),
    b: (Uuid, String),
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> AppResult<DyadSummary> {
    let day = to.unwrap_or(today);
    let (a_id, b_id) = (a.0, b.0);
    // The hashed aggregate keeps arrays per group; with the default work_mem (4 MB) the
    // planner sorts all the rows instead, and spills (twice as slow for the busiest dyad of
    // the benchmark).
    let settings = "SET LOCAL work_mem = '32MB'";
    let (a_to_b, b_to_a) = crate::service::read_together(conn, spares, settings, |conn, spares| {
        Box::pin(async move {
            match spares.into_iter().next() {
                Some(spare) => futures_util::try_join!(
                    direction_of(conn, a_id, b_id, from, to, day),
                    direction_of(spare, b_id, a_id, from, to, day),
                ),
                None => Ok((
                    direction_of(conn, a_id, b_id, from, to, day).await?,
                    direction_of(conn, b_id, a_id, from, to, day).await?,
                )),
            }
        })
    })
    .await?;
    Ok(DyadSummary {
        balance: round(a_to_b.severity_sum - b_to_a.severity_sum),
        a: a.1,
        b: b.1,
        from,
        to,
        a_to_b,
        b_to_a,
    })
}

crate::models::enums::text_enum! {
    /// The length of a timeline bucket; weeks start on Monday, quarters in January, April,
    /// July and October.
    Interval {
        Day => "day",
        Week => "week",
        Month => "month",
        Quarter => "quarter",
        Year => "year",
    }
}

impl Interval {
    /// The bucket length as a PostgreSQL interval (which has no `quarter` unit).
    fn step(self) -> &'static str {
        match self {
            Interval::Day => "1 day",
            Interval::Week => "1 week",
            Interval::Month => "1 month",
            Interval::Quarter => "3 months",
            Interval::Year => "1 year",
        }
    }

    /// How many buckets run from the one holding `start` to the one holding `to`.
    pub fn buckets(self, start: NaiveDate, to: NaiveDate) -> i64 {
        use chrono::Datelike;
        let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
        let monday =
            |d: NaiveDate| d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday()));
        1 + match self {
            Interval::Day => (to - start).num_days(),
            Interval::Week => (monday(to) - monday(start)).num_days() / 7,
            Interval::Month => months(to) - months(start),
            Interval::Quarter => months(to) / 3 - months(start) / 3,
            Interval::Year => i64::from(to.year() - start.year()),
        }
    }
}

/// The most buckets a timeline returns; a longer one is a 400.
pub const MAX_BUCKETS: i64 = 10_000;

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct BucketSide {
    pub count: i64,
    pub severity_sum: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Bucket {
    /// First day of the bucket.
    pub start: NaiveDate,
    pub a_to_b: BucketSide,
    pub b_to_a: BucketSide,
    /// Cumulative `a_to_b.severity_sum - b_to_a.severity_sum` from the window's start,
    /// including this bucket.
    pub balance: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub a: String,
    pub b: String,
    pub interval: Interval,
    /// The window's first day: `from` as asked, else the dyad's first action (null when it
    /// has none on or before `to`).
    #[schema(required = true)]
    pub from: Option<NaiveDate>,
    /// The window's last day: `to` as asked, else today or the dyad's last action if later.
    pub to: NaiveDate,
    /// One bucket per interval from the one holding `from` to the one holding `to`, empty
    /// ones included.
    pub buckets: Vec<Bucket>,
}

#[derive(QueryableByName)]
struct BucketRow {
    #[diesel(sql_type = Date)]
    start: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    ab_count: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    ab_sum: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    ba_count: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    ba_sum: f64,
}

#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = Nullable<Date>)]
    first: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    last: Option<NaiveDate>,
}

#[allow(clippy::too_many_arguments)]
pub async fn timeline(
    conn: &mut AsyncPgConnection,
    a: (Uuid, String),
    b: (Uuid, String),
    interval: Option<Interval>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Timeline> {
    // Without `from`, the timeline starts with the dyad's first action; without `to`, it
    // ends today or with the dyad's last action if that is later (dated ahead, as the
    // summary counts it), and never before `from`.
    let span = match (from, to) {
        (Some(_), Some(_)) => Span {
            first: None,
            last: None,
        },
        _ => {
            diesel::sql_query(
                "SELECT min(announced_on) AS first, max(announced_on) AS last FROM actions \
                 WHERE deleted_at IS NULL \
                   AND ((initiator_id = $1 AND target_id = $2) \
                        OR (initiator_id = $2 AND target_id = $1))",
            )
            .bind::<SqlUuid, _>(a.0)
            .bind::<SqlUuid, _>(b.0)
            .get_result(conn)
            .await?
        }
    };
    let to_given = to.is_some();
    let to = to.unwrap_or_else(|| {
        let today = chrono::Utc::now().date_naive();
        today
            .max(span.last.unwrap_or(today))
            .max(from.unwrap_or(today))
    });
    let start = from.or(span.first).filter(|s| *s <= to);
    // Unasked, months; a dyad that spans too many of them (its first action in year 1, say)
    // gets quarters or years rather than a 400 for a request that chose nothing.
    let interval = interval.unwrap_or_else(|| {
        [Interval::Month, Interval::Quarter]
            .into_iter()
            .find(|i| start.is_none_or(|s| i.buckets(s, to) <= MAX_BUCKETS))
            .unwrap_or(Interval::Year)
    });
    let mut buckets = Vec::new();
    if let Some(start) = start {
        if interval.buckets(start, to) > MAX_BUCKETS {
            // Say where a bound the client did not send came from.
            let from_said = if from.is_some() {
                String::new()
            } else {
                " (the dyad's first action; `from` was not given)".to_string()
            };
            let to_said = match to_given {
                true => "",
                false => " (`to` was not given: today, or the dyad's last action if later)",
            };
            return Err(AppError::bad_param(
                "interval",
                format!(
                    "{start}{from_said} to {to}{to_said} by {interval} is more than \
                     {MAX_BUCKETS} buckets; choose a longer interval or a shorter window"
                ),
            ));
        }
        // Month, quarter and year buckets are made of whole months and the days at the
        // window's edges, day and week buckets of days: all read from the dyad's rows of the
        // aggregates (migration 000016), never from its actions.
        let end = to.succ_opt().unwrap_or(NaiveDate::MAX);
        let by_months = !matches!(interval, Interval::Day | Interval::Week);
        let pieces = Pieces::bounded(start, end, by_months).binds();
        let sql = format!(
            "WITH buckets AS (
                 SELECT generate_series(date_trunc($25, $23::timestamp), $24::timestamp,
                                        $26::interval)::date AS start
             ),
             acts AS (
                 {periods}
             )
             SELECT bk.start,
                    coalesce(sum(x.ab_n), 0)::bigint AS ab_count,
                    coalesce(sum(x.ab_s), 0)::float8 AS ab_sum,
                    coalesce(sum(x.ba_n), 0)::bigint AS ba_count,
                    coalesce(sum(x.ba_s), 0)::float8 AS ba_sum
             FROM buckets bk LEFT JOIN acts x ON x.start = bk.start
             GROUP BY bk.start ORDER BY bk.start",
            periods = dyad_arms(
                "SELECT date_trunc($25, start::timestamp)::date AS start,
                        CASE WHEN lo = $21 THEN lo_n ELSE hi_n END AS ab_n,
                        CASE WHEN lo = $21 THEN lo_severity ELSE hi_severity END AS ab_s,
                        CASE WHEN lo = $21 THEN hi_n ELSE lo_n END AS ba_n,
                        CASE WHEN lo = $21 THEN hi_severity ELSE lo_severity END AS ba_s
                 FROM dyad_period_rows
                 WHERE lo = least($21::uuid, $22::uuid) AND hi = greatest($21::uuid, $22::uuid)
                   AND {period}"
            ),
        );
        let rows: Vec<BucketRow> = bind_window!(diesel::sql_query(sql), pieces)
            .bind::<SqlUuid, _>(a.0)
            .bind::<SqlUuid, _>(b.0)
            .bind::<Date, _>(start)
            .bind::<Date, _>(to)
            .bind::<Text, _>(interval.as_str())
            .bind::<Text, _>(interval.step())
            .load(conn)
            .await?;
        let mut balance = 0.0;
        for r in rows {
            balance += r.ab_sum - r.ba_sum;
            buckets.push(Bucket {
                start: r.start,
                a_to_b: BucketSide {
                    count: r.ab_count,
                    severity_sum: round(r.ab_sum),
                },
                b_to_a: BucketSide {
                    count: r.ba_count,
                    severity_sum: round(r.ba_sum),
                },
                balance: round(balance),
            });
        }
    }
    Ok(Timeline {
        a: a.1,
        b: b.1,
        interval,
        from: start,
        to,
        buckets,
    })
}

/// The most active dyads of a window, busiest first: the top `limit` of `total`. Not paged:
/// a client holds them all when `items` has `total` entries, else it raises `limit` (up to
/// 200) or narrows the window or the actor.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{"a": "CHN", "b": "USA", "count": 3,
    "a_to_b": {"count": 1, "severity_sum": -3.0}, "b_to_a": {"count": 2, "severity_sum": -4.5},
    "last_announced_on": "2020-07-13"}], "total": 1}))]
pub struct DyadRanking {
    pub items: Vec<ActiveDyad>,
    /// How many dyads had actions in the window (with `actor`, that actor's).
    pub total: i64,
}

/// A dyad in the overview of the most active ones.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveDyad {
    pub a: String,
    pub b: String,
    /// Actions in both directions.
    pub count: i64,
    pub a_to_b: BucketSide,
    pub b_to_a: BucketSide,
    pub last_announced_on: NaiveDate,
}

#[derive(QueryableByName)]
struct ActiveRow {
    #[diesel(sql_type = SqlUuid)]
    lo: Uuid,
    #[diesel(sql_type = SqlUuid)]
    hi: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    lo_n: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    lo_s: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    hi_n: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    hi_s: f64,
    #[diesel(sql_type = Date)]
    last: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// The dyads with the most actions in the window, busiest first (ties: most recent first).
/// With `actor`, only its dyads, with `a` being that actor.
pub async fn most_active(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: i64,
) -> AppResult<DyadRanking> {
    // Two steps, one statement: rank the dyads by count (and last day) over the window's
    // pieces, which is integer sums over a few thousand aggregate rows (migration 000016);
    // then sum the severities, numeric and dearer, of the top `limit` only.
    let actor_periods = match actor {
        Some(_) => " AND (lo = $22 OR hi = $22)",
        None => "",
    };
    let sql = format!(
        "WITH ranked AS MATERIALIZED (
             SELECT lo, hi, sum(n)::bigint AS n, max(last) AS last,
                    count(*) OVER () AS total
             FROM (
                 {rank}
             ) p
             GROUP BY lo, hi
             ORDER BY n DESC, last DESC, lo, hi
             LIMIT $21
         ),
         detail AS (
             {detail}
         )
         SELECT r.lo, r.hi, r.n,
                coalesce(sum(d.lo_n), 0)::bigint AS lo_n,
                coalesce(sum(d.lo_severity), 0)::float8 AS lo_s,
                coalesce(sum(d.hi_n), 0)::bigint AS hi_n,
                coalesce(sum(d.hi_severity), 0)::float8 AS hi_s,
                r.last, r.total
         FROM ranked r LEFT JOIN detail d ON d.lo = r.lo AND d.hi = r.hi
         GROUP BY r.lo, r.hi, r.n, r.last, r.total
         ORDER BY r.n DESC, r.last DESC, r.lo, r.hi",
        rank = dyad_arms(&format!(
            "SELECT lo, hi, lo_n + hi_n AS n, last FROM dyad_period_rows
             WHERE {{period}}{actor_periods}"
        )),
        detail = dyad_arms(
            "SELECT d.lo, d.hi, d.lo_n, d.lo_severity, d.hi_n, d.hi_severity
             FROM ranked r JOIN dyad_period_rows d ON d.lo = r.lo AND d.hi = r.hi
             WHERE {period}"
        ),
    );
    let (from, to) = super::window::open_ends(conn, from, to).await?;
    let pieces = Pieces::of(from, to).binds();
    let query =
        bind_window!(diesel::sql_query(sql), pieces).bind::<diesel::sql_types::BigInt, _>(limit);
    let rows: Vec<ActiveRow> = match actor {
        Some(actor) => query.bind::<SqlUuid, _>(actor).load(conn).await?,
        None => query.load(conn).await?,
    };
    let total = <[ActiveRow]>::first(&rows).map_or(0, |r| r.total);
    let mut ids: Vec<Uuid> = rows.iter().flat_map(|r| [r.lo, r.hi]).collect();
    ids.sort_unstable();
    ids.dedup();
    let codes: std::collections::HashMap<Uuid, String> =
        crate::models::actor::refs_by_ids(conn, &ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a.code))
            .collect();
    let code = |id: &Uuid| {
        codes
            .get(id)
            .cloned()
            .ok_or_else(|| AppError::Internal(format!("actor {id} of a dyad is missing")))
    };
    rows.into_iter()
        .map(|r| {
            let lo = BucketSide {
                count: r.lo_n,
                severity_sum: round(r.lo_s),
            };
            let hi = BucketSide {
                count: r.hi_n,
                severity_sum: round(r.hi_s),
            };
            let (lo_code, hi_code) = (code(&r.lo)?, code(&r.hi)?);
            // `a` is the actor asked about, else the alphabetically first code.
            let lo_first = match actor {
                Some(actor) => actor == r.lo,
                None => lo_code <= hi_code,
            };
            let (a, b, a_to_b, b_to_a) = if lo_first {
                (lo_code, hi_code, lo, hi)
            } else {
                (hi_code, lo_code, hi, lo)
            };
            Ok(ActiveDyad {
                a,
                b,
                count: r.n,
                a_to_b,
                b_to_a,
                last_announced_on: r.last,
            })
        })
        .collect::<AppResult<_>>()
        .map(|items| DyadRanking { items, total })
}
