//! `riposte generate`: a realistic, deterministic synthetic data set.
//!
//! - `world` makes the actors and ranks the dyads; `plan` decides every action, its dates,
//!   status history and answers.
//! - Everything comes from one seed through `rng`, so the same `--actions` and `--seed` give
//!   the same data, whatever the machine.

pub mod data;
pub mod plan;
pub mod profiles;
pub mod rng;
pub mod world;
