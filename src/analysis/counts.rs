//! Counts of live actions by category in a window, optionally of one actor: the overview's
//! headline figures, from `category_period_rows` (migrations 000016, 000020) and the window's edge days.

use chrono::NaiveDate;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::window::{day_arms, period_arms, Pieces};
use crate::bind_window;
use crate::error::AppResult;
use crate::models::enums::{parse_stored, Category};

/// A category's human name, for dashboards.
pub fn category_label(c: Category) -> &'static str {
    match c {
        Category::Sanction => "Sanctions",
        Category::Legislation => "Legislation",
        Category::Threat => "Threats",
        Category::Demand => "Demands",
        Category::Criticism => "Criticism",
        Category::Rejection => "Rejections",
        Category::Diplomatic => "Diplomatic measures",
        Category::Easing => "Easing",
        Category::Agreement => "Agreements",
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    /// The category's code, as `category` in `/v1/action-types`.
    pub category: Category,
    /// Its human name.
    #[schema(example = "Sanctions")]
    pub label: &'static str,
    pub count: i64,
}

/// Live actions by category in a window.
#[derive(Debug, Serialize, ToSchema)]
pub struct Counts {
    /// Start of the window on `announced_on` (inclusive), if any.
    #[schema(required = true)]
    pub from: Option<NaiveDate>,
    /// End of the window (inclusive), if any.
    #[schema(required = true)]
    pub to: Option<NaiveDate>,
    /// The actor whose actions (as initiator or target) are counted, if one was asked for.
    #[schema(required = true)]
    pub actor: Option<String>,
    /// Every action counted once.
    pub total: i64,
    /// Every category, busiest first (ties: by code), zeros included.
    pub by_category: Vec<CategoryCount>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The nil uuid: the `category_periods` rows of all actions.
const ALL_ACTORS: Uuid = Uuid::nil();

pub async fn counts(
    conn: &mut AsyncPgConnection,
    actor: Option<(Uuid, String)>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Counts> {
    let actor_days = match actor {
        Some(_) => " AND (x.initiator_id = $21 OR x.target_id = $21)",
        None => "",
    };
    let sql = format!(
        "SELECT category, sum(n)::bigint AS n FROM (
             {periods}
             UNION ALL
             {days}
         ) s GROUP BY category",
        periods = period_arms(
            "SELECT category, n FROM category_period_rows WHERE actor_id = $21 AND {period}"
        ),
        days = day_arms(
            &format!(
                "SELECT t.category, 1 FROM actions x JOIN action_types t ON t.code = x.type_code
                 WHERE x.deleted_at IS NULL AND {{days}}{actor_days}"
            ),
            "x"
        ),
    );
    let id = actor.as_ref().map_or(ALL_ACTORS, |a| a.0);
    let (open_from, open_to) = super::window::open_ends(conn, from, to).await?;
    let pieces = Pieces::of(open_from, open_to).binds();
    let rows: Vec<Row> = bind_window!(diesel::sql_query(sql), pieces)
        .bind::<SqlUuid, _>(id)
        .load(conn)
        .await?;
    let mut by_category = Category::ALL
        .iter()
        .map(|c| CategoryCount {
            category: *c,
            label: category_label(*c),
            count: 0,
        })
        .collect::<Vec<_>>();
    for r in rows {
        let c: Category = parse_stored(&r.category)?;
        if let Some(slot) = by_category.iter_mut().find(|s| s.category == c) {
            slot.count += r.n;
        }
    }
    by_category.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| x.category.as_str().cmp(y.category.as_str()))
    });
    Ok(Counts {
        from,
        to,
        actor: actor.map(|a| a.1),
        total: by_category.iter().map(|c| c.count).sum(),
        by_category,
    })
}
