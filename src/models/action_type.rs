use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::action_types;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = action_types)]
pub struct ActionTypeRow {
    pub code: String,
    pub label: String,
    pub description: String,
    pub category: String,
    pub cameo_code: String,
    pub quad_class: i16,
    pub default_severity: f64,
}

pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ActionTypeRow>> {
    action_types::table
        .order((action_types::category, action_types::code))
        .select(ActionTypeRow::as_select())
        .load(conn)
        .await
}
