//! The analysis of the response graph: chains (this module), and later dyads and timelines.
//! All of it is computed in SQL with bind parameters, touching only the rows it needs.

pub mod chain;
pub mod dyad;
