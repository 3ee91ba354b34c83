//! Request bodies of actors.

use super::*;

/// A new actor.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "marco-rubio",
    "name": "Marco Rubio",
    "kind": "person",
    "country": "USA",
    "aliases": ["Marco Antonio Rubio"],
    "description": "US Senator for Florida; sanctioned by China on 13 July 2020."
}))]
pub struct NewActor {
    /// ISO 3166-1 alpha-3 in upper case for states (`USA`); a lower-case slug
    /// (`^[a-z0-9]+(-[a-z0-9]+)*$`, at most 100 characters) for everything else.
    pub code: String,
    pub name: String,
    pub kind: ActorKind,
    /// Code of the state the actor belongs to; required for all but states and IGOs, which
    /// must not have one. The state must exist.
    #[serde(default)]
    pub country: Option<String>,
    /// Code of the body or state the actor belongs to.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Wikidata item id, `Q` followed by digits.
    #[serde(default)]
    pub wikidata_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Changes to an actor: absent fields are kept, `null` clears a nullable field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"aliases": ["陈全国", "Chen Quan-guo"], "wikidata_id": null}))]
pub struct ActorPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub kind: Option<ActorKind>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub aliases: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub wikidata_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

impl ActorPatch {
    pub fn apply(self, mut actor: NewActor) -> NewActor {
        if let Some(v) = self.code {
            actor.code = v;
        }
        if let Some(v) = self.name {
            actor.name = v;
        }
        if let Some(v) = self.kind {
            actor.kind = v;
        }
        if let Some(v) = self.country {
            actor.country = v;
        }
        if let Some(v) = self.parent {
            actor.parent = v;
        }
        if let Some(v) = self.aliases {
            actor.aliases = v;
        }
        if let Some(v) = self.wikidata_id {
            actor.wikidata_id = v;
        }
        if let Some(v) = self.description {
            actor.description = v;
        }
        actor
    }
}

pub fn is_state_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

pub fn is_slug(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The fault of an actor that names itself as its parent.
pub fn own_parent() -> FieldError {
    FieldError::new("parent", "an actor cannot be its own parent")
}

impl NewActor {
    /// Whether a new actor names itself as its parent (a changed one is compared by id: after
    /// a change of code, its old parent may carry the new code).
    pub fn is_own_parent(&self) -> bool {
        self.parent.as_deref() == Some(self.code.as_str())
    }

    /// The rules an actor keeps on its own, without the database.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let state = self.kind == ActorKind::State;
        if state && !is_state_code(&self.code) {
            errors.push(FieldError::new(
                "code",
                "a state's code is its ISO 3166-1 alpha-3 code in upper case, e.g. `USA`",
            ));
        } else if !state && !is_slug(&self.code) {
            errors.push(FieldError::new(
                "code",
                format!(
                    "must be a lower-case slug of letters, digits and single hyphens, at most \
                     {MAX_CODE_LEN} characters, e.g. `chen-quanguo`"
                ),
            ));
        }
        check_text(&mut errors, "name", Some(&self.name), MAX_NAME_LEN, true);
        match (&self.country, self.kind) {
            (Some(_), ActorKind::State) => errors.push(FieldError::new(
                "country",
                "a state has no country; leave it out",
            )),
            (Some(c), _) if !is_state_code(c) => errors.push(FieldError::new(
                "country",
                "must be the alpha-3 code of a state, e.g. `CHN`",
            )),
            (None, kind) if !kind.is_dyad_member() => errors.push(FieldError::new(
                "country",
                "required for actors that are not states or IGOs",
            )),
            _ => {}
        }
        if self.aliases.len() > MAX_ALIASES {
            errors.push(FieldError::new(
                "aliases",
                format!(
                    "at most {MAX_ALIASES} aliases ({} given)",
                    self.aliases.len()
                ),
            ));
        } else {
            for (i, alias) in self.aliases.iter().enumerate() {
                check_text(
                    &mut errors,
                    &format!("aliases[{i}]"),
                    Some(alias),
                    MAX_NAME_LEN,
                    true,
                );
            }
        }
        if let Some(q) = &self.wikidata_id {
            let ok = q.len() > 1
                && q.len() <= 20
                && q.starts_with('Q')
                && !q[1..].starts_with('0')
                && q[1..].bytes().all(|b| b.is_ascii_digit());
            if !ok {
                errors.push(FieldError::new(
                    "wikidata_id",
                    "must be a Wikidata item id such as `Q148`",
                ));
            }
        }
        check_text(
            &mut errors,
            "description",
            self.description.as_deref(),
            MAX_TEXT_LEN,
            false,
        );
        errors
    }
}
