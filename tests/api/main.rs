//! Integration tests: the real app over HTTP against a real PostgreSQL.

mod contract;
mod helpers;
#[path = "../support/receiver.rs"]
mod receiver;

mod action_types;
mod actions;
mod actors;
mod aggregates;
mod analysis;
mod auth;
mod changes;
mod deletion;
mod documents;
mod errors;
mod export;
mod graph;
mod graph_facts;
mod hardening;
mod health;
mod imports;
mod instances;
mod lists;
mod metrics;
mod migrations;
mod openapi;
mod pages;
mod query;
mod seed;
mod webhooks;
