//! riposte: actions and counter-actions between states, and who answered whom.

pub mod analysis;
pub mod app;
pub mod auth;
pub mod conditional;
pub mod controllers;
pub mod db;
pub mod embedded_pg;
pub mod error;
pub mod export;
pub mod extract;
pub mod feed;
pub mod generate;
pub mod input;
pub mod limits;
pub mod models;
pub mod openapi;
pub mod pagination;
pub mod ratelimit;
pub mod schema;
pub mod seed;
pub mod service;
pub mod state;
pub mod taxonomy;
pub mod validation;
pub mod views;
pub mod webhook;
