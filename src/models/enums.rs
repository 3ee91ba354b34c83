//! Closed vocabularies, stored as text (with CHECK constraints in `migrations/`) and exchanged
//! as snake_case strings.

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown value `{other}`; expected one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use text_enum;

text_enum! {
    /// What kind of actor this is. States and IGOs form dyads; the others act for them or are
    /// designated by actions.
    ActorKind {
        State => "state",
        Igo => "igo",
        GovernmentBody => "government_body",
        Person => "person",
        Organization => "organization",
        Company => "company",
    }
}

impl ActorKind {
    pub fn is_dyad_member(self) -> bool {
        matches!(self, ActorKind::State | ActorKind::Igo)
    }
}

text_enum! {
    /// Where an action is in its lifecycle: threatened -> announced -> in force ->
    /// suspended / lifted / expired.
    ActionStatus {
        Threatened => "threatened",
        Announced => "announced",
        InForce => "in_force",
        Suspended => "suspended",
        Lifted => "lifted",
        Expired => "expired",
    }
}

text_enum! {
    /// How much of `announced_on` is known. A month-precise date is stored as the month's first
    /// day, a year-precise one as 1 January.
    DatePrecision {
        Day => "day",
        Month => "month",
        Year => "year",
    }
}

text_enum! {
    /// How an action answers an earlier one.
    Relation {
        Retaliates => "retaliates",
        Reciprocates => "reciprocates",
        Escalates => "escalates",
        DeEscalates => "de_escalates",
        /// Carries out an earlier threat.
        Implements => "implements",
        DemandsLifting => "demands_lifting",
        Lifts => "lifts",
    }
}

text_enum! {
    /// The family an action type belongs to.
    Category {
        Sanction => "sanction",
        Legislation => "legislation",
        Threat => "threat",
        Demand => "demand",
        Criticism => "criticism",
        Rejection => "rejection",
        Diplomatic => "diplomatic",
        Easing => "easing",
        Agreement => "agreement",
    }
}

/// Reads a stored vocabulary value; the CHECK constraints make a failure a bug, not bad input.
pub fn parse_stored<T: std::str::FromStr<Err = String>>(value: &str) -> Result<T, CorruptValue> {
    value.parse().map_err(CorruptValue)
}

/// A stored value outside its vocabulary: the database's CHECK constraints should make this
/// impossible, so it is a bug, not bad input.
#[derive(Debug, thiserror::Error)]
#[error("corrupt stored value: {0}")]
pub struct CorruptValue(pub String);

text_enum! {
    /// Order of a list of actions: a field name ascending, or with `-` descending
    /// (`-announced_on`, newest first, is the default); `relevance` (needs `q`) puts the best
    /// full-text matches first. Ties are broken by id, in the same direction.
    ActionSort {
        NewestFirst => "-announced_on",
        OldestFirst => "announced_on",
        SeverityAsc => "severity",
        SeverityDesc => "-severity",
        UpdatedAsc => "updated_at",
        UpdatedDesc => "-updated_at",
        Relevance => "relevance",
    }
}
