//! The analysis of the response graph: chains, dyads and timelines, the most active dyads and
//! counts by category. All of it is computed in SQL with bind parameters, touching only the
//! rows it needs; windows are answered from the aggregates of migration 000016 (`window`).

pub mod chain;
pub mod counts;
pub mod dyad;
pub mod window;
