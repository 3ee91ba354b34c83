//! The query behind every list of actions: filters, sorts, keyset pagination and the optional
//! exact total.
//!
//! Built as SQL text with numbered binds rather than with diesel's DSL because the relevance
//! sort needs a computed column, and the set of conditions varies with every request. Every
//! value is a bind parameter; only fixed fragments written here become SQL text, so the
//! number of distinct statements is bounded by the combinations of filters, and the common
//! ones are kept prepared (see `Sql::cacheable`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Double};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::action::in_force_on;
use super::enums::ActionSort;
use super::sql::{Bind, Sql};

/// What a list of actions is filtered by; actor codes and categories are already resolved.
/// Conditions are ANDed; the values of one multi-valued condition are ORed. An empty list
/// means "no condition".
#[derive(Debug, Default, Clone)]
pub struct ActionFilter {
    pub show_deleted: bool,
    pub initiators: Vec<Uuid>,
    pub targets: Vec<Uuid>,
    /// Unordered pairs: an action of either direction matches.
    pub dyads: Vec<(Uuid, Uuid)>,
    /// `Some(empty)` matches nothing (a `type` and a `category` with no type in common).
    pub types: Option<Vec<String>>,
    pub statuses: Vec<String>,
    /// Actions that designate any of these actors.
    pub designated: Vec<Uuid>,
    /// Actions carrying any of these tags.
    pub tags: Vec<String>,
    pub severity_min: Option<f64>,
    pub severity_max: Option<f64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Has (true) or lacks (false) an answer from an action that is not deleted.
    pub answered: Option<bool>,
    /// Full-text query, `websearch_to_tsquery` syntax.
    pub q: Option<String>,
    /// Only actions that answer this one.
    pub answers: Option<Uuid>,
    /// Only actions in force on this day (see `in_force_on`).
    pub as_of: Option<NaiveDate>,
    /// Only the action with this external id (of `source_dataset`, or of no dataset).
    pub external_id: Option<String>,
    /// Only actions of this dataset.
    pub source_dataset: Option<String>,
}

/// The sort value of the last item of a page, as a page token carries it. Floats travel as
/// their bits so that the keyset comparison sees exactly the value PostgreSQL returned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SortValue {
    #[serde(rename = "d")]
    Date(NaiveDate),
    #[serde(rename = "f")]
    FloatBits(u64),
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
}

/// Keyset position: the sort value and id of the last item of the previous page.
pub type Cursor = (SortValue, Uuid);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Date,
    Float,
    Time,
}

struct SortSpec {
    expr: &'static str,
    /// The same value as a column of the page's inner rows (`page`).
    column: &'static str,
    ascending: bool,
    kind: Kind,
}

const RANK: &str = "ts_rank(actions.search, tsq)::float8";

fn spec(sort: ActionSort) -> SortSpec {
    let (expr, column, ascending, kind) = match sort {
        ActionSort::NewestFirst => ("actions.announced_on", "announced_on", false, Kind::Date),
        ActionSort::OldestFirst => ("actions.announced_on", "announced_on", true, Kind::Date),
        ActionSort::SeverityAsc => ("actions.severity", "severity", true, Kind::Float),
        ActionSort::SeverityDesc => ("actions.severity", "severity", false, Kind::Float),
        ActionSort::UpdatedAsc => ("actions.updated_at", "updated_at", true, Kind::Time),
        ActionSort::UpdatedDesc => ("actions.updated_at", "updated_at", false, Kind::Time),
        ActionSort::Relevance => (RANK, "rank", false, Kind::Float),
    };
    SortSpec {
        expr,
        column,
        ascending,
        kind,
    }
}

/// True when a cursor's value is of the kind the sort orders by (a forged or foreign token
/// is refused before it reaches SQL).
pub fn cursor_fits(sort: ActionSort, cursor: &Cursor) -> bool {
    matches!(
        (spec(sort).kind, cursor.0),
        (Kind::Date, SortValue::Date(_))
            | (Kind::Float, SortValue::FloatBits(_))
            | (Kind::Time, SortValue::Time(_))
    )
}

/// A listed action: its stored document and the values it can be sorted by.
#[derive(Debug, QueryableByName)]
pub struct Listed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub announced_on: NaiveDate,
    #[diesel(sql_type = Double)]
    pub severity: f64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub updated_at: DateTime<Utc>,
    /// The relevance rank (0 unless `q` is given).
    #[diesel(sql_type = Double)]
    pub rank: f64,
    /// The stored document's version, a space, and its text (see `documents`).
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub doc: String,
    /// How many rows the page read before its byte budget (`page`) cut it: more than were
    /// returned when it was cut.
    #[diesel(sql_type = BigInt)]
    pub fetched: i64,
}

impl Listed {
    pub fn cursor(&self, sort: ActionSort) -> Cursor {
        let value = match sort {
            ActionSort::NewestFirst | ActionSort::OldestFirst => SortValue::Date(self.announced_on),
            ActionSort::SeverityAsc | ActionSort::SeverityDesc => {
                SortValue::FloatBits(self.severity.to_bits())
            }
            ActionSort::UpdatedAsc | ActionSort::UpdatedDesc => SortValue::Time(self.updated_at),
            ActionSort::Relevance => SortValue::FloatBits(self.rank.to_bits()),
        };
        (value, self.id)
    }

    /// The stored document, for `documents::ActorCache::complete`.
    pub fn stored(self) -> QueryResult<super::document::Stored> {
        let bad = || {
            diesel::result::Error::DeserializationError(
                format!("action {}: no stored document", self.id).into(),
            )
        };
        let space = self.doc.find(' ').ok_or_else(bad)?;
        let version: i64 = self.doc[..space].parse().map_err(|_| bad())?;
        let mut body = self.doc;
        body.drain(..=space);
        Ok(super::document::Stored {
            id: self.id,
            version,
            body,
        })
    }
}

/// Rows of a page, and whether their documents' bytes cut it short of what it read.
pub struct Batch {
    pub rows: Vec<Listed>,
    /// The rows stop before `limit` because the next document would pass `max_bytes`: there
    /// are more, from the last row on.
    pub cut: bool,
}

/// One page of `limit` rows after `after`, in `sort` order with the id as tie-breaker, whose
/// documents come to at most `max_bytes` (the first row always comes). The row-value
/// comparison lets PostgreSQL walk the matching index from the cursor on.
pub async fn page(
    conn: &mut AsyncPgConnection,
    f: &ActionFilter,
    sort: ActionSort,
    after: Option<Cursor>,
    limit: i64,
    max_bytes: i64,
) -> QueryResult<Batch> {
    let spec = spec(sort);
    let mut sql = Sql::new();
    let rank = if f.q.is_some() { RANK } else { "0::float8" };
    // Inside, the rows of the page and their documents' sizes (`octet_length` reads a
    // stored text's size without reading the text); outside, the running sum of the sizes
    // keeps the rows within `max_bytes`, and only those fetch their document: a subquery
    // PostgreSQL evaluates for the rows kept, its version and text in one value
    // (`<version> <text>`, see `Listed::stored`).
    let key = spec.column;
    let dir = if spec.ascending { "ASC" } else { "DESC" };
    sql.push(&format!(
        "SELECT p.id, p.announced_on, p.severity, p.updated_at, p.rank, \
         (SELECT d.version || ' ' || d.body FROM action_documents d WHERE d.id = p.id) AS doc, \
         p.fetched \
         FROM (SELECT q.*, count(*) OVER () AS fetched, \
                      sum(q.bytes) OVER (ORDER BY q.{key} {dir}, q.id {dir} \
                                         ROWS UNBOUNDED PRECEDING) AS upto \
               FROM (SELECT actions.id, actions.announced_on, actions.severity, \
                            actions.updated_at, {rank} AS rank, \
                            coalesce((SELECT octet_length(d.body) FROM action_documents d \
                                      WHERE d.id = actions.id), 0) AS bytes"
    ));
    from_where(&mut sql, f);
    if let Some((value, id)) = after {
        let op = if spec.ascending { ">" } else { "<" };
        let value = match value {
            SortValue::Date(d) => sql.bind(Bind::Date(d)),
            SortValue::FloatBits(bits) => sql.bind(Bind::Float(f64::from_bits(bits))),
            SortValue::Time(t) => sql.bind(Bind::Time(t)),
        };
        let id = sql.bind(Bind::Uuid(id));
        sql.push(&format!(
            " AND ({}, actions.id) {op} ({value}, {id})",
            spec.expr
        ));
    }
    let limit = sql.bind(Bind::Int(limit));
    let max_bytes = sql.bind(Bind::Int(max_bytes));
    sql.push(&format!(
        " ORDER BY {} {dir}, actions.id {dir} LIMIT {limit}) q) p \
         WHERE p.upto - p.bytes < {max_bytes} \
         ORDER BY p.{key} {dir}, p.id {dir}",
        spec.expr
    ));
    let rows: Vec<Listed> = sql.load(conn).await?;
    let cut = <[Listed]>::first(&rows).is_some_and(|r| (rows.len() as i64) < r.fetched);
    Ok(Batch { rows, cut })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many actions match, over all pages.
pub async fn total(conn: &mut AsyncPgConnection, f: &ActionFilter) -> QueryResult<i64> {
    let mut sql = Sql::new();
    sql.push("SELECT count(*) AS n");
    from_where(&mut sql, f);
    let count: Count = sql.get_result(conn).await?;
    Ok(count.n)
}

/// How many conditions a filter sets; statements with few are kept prepared.
fn conditions(f: &ActionFilter) -> usize {
    [
        f.q.is_some(),
        !f.initiators.is_empty(),
        !f.targets.is_empty(),
        !f.dyads.is_empty(),
        f.types.is_some(),
        !f.statuses.is_empty(),
        !f.designated.is_empty(),
        !f.tags.is_empty(),
        f.severity_min.is_some(),
        f.severity_max.is_some(),
        f.from.is_some(),
        f.to.is_some(),
        f.updated_since.is_some(),
        f.answered.is_some(),
        f.answers.is_some(),
        f.as_of.is_some(),
        f.external_id.is_some() || f.source_dataset.is_some(),
    ]
    .into_iter()
    .filter(|&set| set)
    .count()
}

/// Statements with at most this many conditions are prepared once per connection and kept:
/// under 500 shapes (16 conditions x 7 sorts x cursor or not x show_deleted), so the cache
/// stays bounded whatever clients send; rarer combinations are prepared for each request.
const MAX_CACHED_CONDITIONS: usize = 1;

fn from_where(sql: &mut Sql, f: &ActionFilter) {
    sql.cacheable(conditions(f) <= MAX_CACHED_CONDITIONS);
    sql.push(" FROM actions");
    if let Some(q) = &f.q {
        let q = sql.bind(Bind::Text(q.clone()));
        sql.push(&format!(
            ", websearch_to_tsquery('english'::regconfig, {q}) AS tsq"
        ));
    }
    sql.push(" WHERE true");
    if f.q.is_some() {
        sql.push(" AND actions.search @@ tsq");
    }
    if !f.show_deleted {
        sql.push(" AND actions.deleted_at IS NULL");
    }
    if !f.initiators.is_empty() {
        let p = sql.bind(Bind::Uuids(f.initiators.clone()));
        sql.push(&format!(" AND actions.initiator_id = ANY({p})"));
    }
    if !f.targets.is_empty() {
        let p = sql.bind(Bind::Uuids(f.targets.clone()));
        sql.push(&format!(" AND actions.target_id = ANY({p})"));
    }
    if !f.dyads.is_empty() {
        // Both directions, each an (initiator AND target) term: PostgreSQL estimates such
        // terms from each column's statistics, and reads each from the dyad index. As
        // `(initiator_id, target_id) IN (SELECT * FROM unnest(...))` a semi-join it could not
        // estimate took 100 quiet dyads for most of the table: it walked the date index
        // through every action (1.2-3.1 s at 147,000 actions, 4.8 ms so). A statement's text
        // then depends on the number of dyads: more than one is prepared per request.
        if f.dyads.len() > 1 {
            sql.cacheable(false);
        }
        let mut terms = Vec::with_capacity(2 * f.dyads.len());
        for &(a, b) in &f.dyads {
            for (from, to) in [(a, b), (b, a)] {
                let from = sql.bind(Bind::Uuid(from));
                let to = sql.bind(Bind::Uuid(to));
                terms.push(format!(
                    "(actions.initiator_id = {from} AND actions.target_id = {to})"
                ));
            }
        }
        sql.push(&format!(" AND ({})", terms.join(" OR ")));
    }
    if let Some(types) = &f.types {
        let p = sql.bind(Bind::Texts(types.clone()));
        sql.push(&format!(" AND actions.type_code = ANY({p})"));
    }
    if !f.statuses.is_empty() {
        let p = sql.bind(Bind::Texts(f.statuses.clone()));
        sql.push(&format!(" AND actions.status = ANY({p})"));
    }
    if !f.designated.is_empty() {
        let p = sql.bind(Bind::Uuids(f.designated.clone()));
        sql.push(&format!(
            " AND actions.id IN (SELECT action_id FROM designations WHERE actor_id = ANY({p}))"
        ));
    }
    if !f.tags.is_empty() {
        let p = sql.bind(Bind::Texts(f.tags.clone()));
        sql.push(&format!(" AND actions.tags && {p}::text[]"));
    }
    if let Some(min) = f.severity_min {
        let p = sql.bind(Bind::Float(min));
        sql.push(&format!(" AND actions.severity >= {p}"));
    }
    if let Some(max) = f.severity_max {
        let p = sql.bind(Bind::Float(max));
        sql.push(&format!(" AND actions.severity <= {p}"));
    }
    if let Some(from) = f.from {
        let p = sql.bind(Bind::Date(from));
        sql.push(&format!(" AND actions.announced_on >= {p}"));
    }
    if let Some(to) = f.to {
        let p = sql.bind(Bind::Date(to));
        sql.push(&format!(" AND actions.announced_on <= {p}"));
    }
    if let Some(since) = f.updated_since {
        let p = sql.bind(Bind::Time(since));
        sql.push(&format!(" AND actions.updated_at >= {p}"));
    }
    if let Some(answered) = f.answered {
        let not = if answered { "" } else { "NOT " };
        sql.push(&format!(
            " AND {not}EXISTS (SELECT 1 FROM responses r JOIN actions answer \
               ON answer.id = r.action_id AND answer.deleted_at IS NULL \
             WHERE r.responds_to_id = actions.id)"
        ));
    }
    if let Some(answers) = f.answers {
        let p = sql.bind(Bind::Uuid(answers));
        sql.push(&format!(
            " AND actions.id IN (SELECT action_id FROM responses WHERE responds_to_id = {p})"
        ));
    }
    if let Some(day) = f.as_of {
        let p = sql.bind(Bind::Date(day));
        sql.push(&format!(" AND {}", in_force_on(&p)));
    }
    // As the unique index `actions_external_key` reads them: a lookup of one key, or the
    // range of one dataset.
    if f.external_id.is_some() || f.source_dataset.is_some() {
        let dataset = sql.bind(Bind::Text(f.source_dataset.clone().unwrap_or_default()));
        sql.push(&format!(
            " AND coalesce(actions.source_dataset, '') = {dataset} \
             AND actions.external_id IS NOT NULL"
        ));
        if let Some(id) = &f.external_id {
            let p = sql.bind(Bind::Text(id.clone()));
            sql.push(&format!(" AND actions.external_id = {p}"));
        }
    }
}
