//! Database rows and the queries on them, one module per table family; handlers never build
//! SQL themselves.

pub mod action;
pub mod action_list;
pub mod action_type;
pub mod actor;
pub mod api_key;
pub mod audit;
pub mod change;
pub mod document;
pub mod enums;
pub mod import;
pub mod server_secret;
pub mod sql;
pub mod webhook;
