//! The graph rules' messages, written once: the API's checks fill them with values, and the
//! import's checks, which run in SQL over every line at once, turn them into SQL `format`
//! calls over their staging tables (`sql_format`). A client reads the same words from both.

use std::fmt::Display;

pub fn answers_itself() -> &'static str {
    "an action cannot respond to itself"
}

pub fn listed_twice(action: impl Display) -> String {
    format!("action {action} is listed twice")
}

pub fn answers_deleted(action: impl Display) -> String {
    format!("action {action} is deleted; restore it first, or answer another")
}

pub fn no_such_action(id: impl Display) -> String {
    format!("no action with id {id}")
}

/// An import's answer to an id neither stored nor in its file: most often a filtered export's
/// line answering an action the filter left out.
pub fn no_such_action_in_file(id: impl Display) -> String {
    format!(
        "no action with id {id}, stored or in this file (an export filtered by date, dyad or \
         type leaves out the actions its actions answer: import those first, or give this \
         answer up)"
    )
}

/// `answered`: how the answered action is named ("action <id>"; the import may say which line).
pub fn answers_later(
    answered: impl Display,
    announced_on: impl Display,
    this_on: impl Display,
) -> String {
    format!(
        "{answered} was announced on {announced_on}, after this action ({this_on}); an action \
         can only respond to earlier ones"
    )
}

pub fn dated_after_answer(responder: impl Display, announced_on: impl Display) -> String {
    format!(
        "action {responder}, announced on {announced_on}, responds to this action, so this \
         action cannot be dated after that"
    )
}

pub fn authority_does_not_act(authority: impl Display, initiator: impl Display) -> String {
    format!(
        "`{authority}` does not act for the initiator `{initiator}`: an authority must be the \
         initiator, belong to it (`country`) or sit under it (`parent`)"
    )
}

/// Stands for the `n`th argument of `sql_format` where a message shows a value.
pub struct Slot(pub usize);

impl Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\u{1}{}\u{2}", self.0)
    }
}

/// The SQL `format(...)` that writes `message` (made with `Slot(n)` in place of its values)
/// with the value of the SQL expression `args[n - 1]` in each slot.
pub fn sql_format(message: &str, args: &[&str]) -> String {
    let mut template = message.replace('%', "%%").replace('\'', "''");
    for n in 1..=args.len() {
        template = template.replace(&Slot(n).to_string(), &format!("%{n}$s"));
    }
    debug_assert!(!template.contains('\u{1}'), "a slot without an argument");
    let args: String = args.iter().map(|a| format!(", {a}")).collect();
    format!("format('{template}'{args})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_format_places_each_argument_in_its_slot_and_escapes_the_rest() {
        let message = format!("100% {}'s answer to {}", Slot(2), Slot(1));
        assert_eq!(
            sql_format(&message, &["a.id", "l.line"]),
            "format('100%% %2$s''s answer to %1$s', a.id, l.line)"
        );
    }
}
