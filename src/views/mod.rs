//! The JSON shapes the API returns, one module per resource. Field names are the public
//! contract. Each module takes the imports below with `use super::*`, and everything is
//! re-exported here: a shape is `crate::views::Action` wherever it is written.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppResult;
use crate::models::action::StatusChangeRow;
use crate::models::action_type::ActionTypeRow;
use crate::models::actor::{ActorRefRow, ActorRow};
use crate::models::enums::{
    parse_stored, ActionStatus, ActorKind, Category, DatePrecision, Relation,
};

mod action;
mod actor;
mod audit;
mod change;
mod health;
mod import;
mod keys;
mod webhook;

pub use action::*;
pub use actor::*;
pub use audit::*;
pub use change::*;
pub use health::*;
pub use import::*;
pub use keys::*;
pub use webhook::*;

/// A page of results. Pass `next_page_token` back as `page_token` for the next page; it is
/// null on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page, or null when this is the last page.
    #[schema(required = true)]
    pub next_page_token: Option<String>,
    /// The exact number of matching items over all pages; only when asked for with
    /// `include_total=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl<T> List<T> {
    /// A list that is never paged.
    pub fn one_page(items: Vec<T>) -> Self {
        List {
            items,
            next_page_token: None,
            total: None,
        }
    }
}
