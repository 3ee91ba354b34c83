//! Liveness, readiness and the replicas' health.

use super::*;

/// Liveness and readiness answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    /// `/readyz` of a server with read replicas: each one's state. A replica out of rotation
    /// does not make the server unready: the primary serves its reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<ReplicaHealth>>,
}

/// A read replica as the server's health checks (every second) last found it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"name": "replica.internal:5432/riposte", "state": "in_rotation",
    "replay_lsn": "0/3000148", "lag_bytes": 0, "lag_seconds": 0.0, "error": null}))]
pub struct ReplicaHealth {
    /// Host, port and database (no credentials).
    pub name: String,
    /// `in_rotation` (serving reads), `starting` (not checked yet), `down` (unreachable),
    /// `lagging` (further behind than `--replica-max-lag`) or `promoted` (no longer a
    /// standby). Only `in_rotation` replicas serve reads.
    #[schema(example = "in_rotation")]
    pub state: String,
    /// The last WAL position it replayed.
    #[schema(required = true)]
    pub replay_lsn: Option<String>,
    /// Bytes of WAL the primary had that it had not replayed, at the last check.
    #[schema(required = true)]
    pub lag_bytes: Option<u64>,
    /// How long ago the primary first had WAL it has not replayed (0 when caught up; one
    /// second resolution).
    #[schema(required = true)]
    pub lag_seconds: Option<f64>,
    /// Why it is out of rotation.
    #[schema(required = true)]
    pub error: Option<String>,
}
