//! The action-type taxonomy, loaded once at start: it changes only through migrations.

use std::collections::HashMap;

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::models::action_type;
use crate::views::ActionType;

/// The action-type taxonomy, loaded once: it changes only through migrations.
#[derive(Debug, Clone, Default)]
pub struct ActionTypes {
    by_code: HashMap<String, ActionType>,
    ordered: Vec<ActionType>,
}

impl ActionTypes {
    pub async fn load(pool: &DbPool) -> AppResult<Self> {
        let mut conn = pool.get().await?;
        let rows = action_type::all(&mut conn).await?;
        let ordered = rows
            .into_iter()
            .map(ActionType::from_row)
            .collect::<AppResult<Vec<_>>>()?;
        let by_code = ordered
            .iter()
            .map(|t| (t.code.clone(), t.clone()))
            .collect();
        Ok(ActionTypes { by_code, ordered })
    }

    /// A stored type code; its absence would be a bug, since actions reference types by key.
    pub fn get(&self, code: &str) -> AppResult<&ActionType> {
        self.by_code
            .get(code)
            .ok_or_else(|| AppError::Internal(format!("action type `{code}` is not loaded")))
    }

    pub fn lookup(&self, code: &str) -> Option<&ActionType> {
        self.by_code.get(code)
    }

    pub fn all(&self) -> &[ActionType] {
        &self.ordered
    }
}
