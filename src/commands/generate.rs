//! `riposte generate`: the summary printed once the data is written.

use super::out;

pub fn print_report(r: &riposte::generate::Report) -> Result<(), String> {
    use riposte::generate::progress::{seconds, thousands};
    let actions = r
        .rows
        .iter()
        .find(|(t, _)| *t == "actions")
        .map_or(0, |(_, n)| *n);
    let mut text = String::from("generated:\n");
    use std::fmt::Write;
    for (table, n) in &r.rows {
        let _ = writeln!(text, "  {table:<15} {:>12}", thousands(*n));
    }
    let _ = writeln!(
        text,
        "  answering       {:>12}  ({:.1}% of actions, in {} episodes)",
        thousands(r.answering),
        100.0 * r.answering as f64 / actions.max(1) as f64,
        thousands(r.episodes as u64)
    );
    let _ = writeln!(
        text,
        "  threats         {:>12}  ({} implemented)",
        thousands(r.threats),
        thousands(r.threats_implemented)
    );
    let (a, b, n) = &r.busiest;
    let _ = writeln!(
        text,
        "busiest dyad: {a}-{b}, {} actions ({:.1}%)",
        thousands(*n),
        100.0 * *n as f64 / actions.max(1) as f64
    );
    for (tag, size, id) in &r.designed {
        let _ = writeln!(text, "episode tag {tag}: {size} actions from {id}");
    }
    let _ = writeln!(
        text,
        "elapsed {} (loading {}), {} actions/s",
        seconds(r.elapsed),
        seconds(r.loading),
        thousands((actions as f64 / r.elapsed.as_secs_f64()) as u64)
    );
    out(&text)
}
