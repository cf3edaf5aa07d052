//! Discord webhooks: one embed, inside Discord's limits (title 256 characters, description 4096,
//! 25 fields of name 256 / value 1024, footer 2048, 6000 across the embed). Mentions are off, so
//! an `@everyone` inside a reason cannot ping a server.

use serde_json::{Map, Value, json};

use super::message::{Message, Tone, service_facts, truncate};
use crate::report::gate_problems;

const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 2048;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FIELDS_MAX: usize = 25;
const FOOTER_MAX: usize = 512;
const EMBED_TOTAL_MAX: usize = 6000;

/// Gatus's green and red, plus an orange and a blue.
pub fn color(tone: Tone) -> u32 {
    match tone {
        Tone::Good => 3_066_993,
        Tone::Warn => 15_105_570,
        Tone::Bad => 15_158_332,
        Tone::Info => 3_447_003,
    }
}

/// The JSON body of one Discord message.
pub fn payload(msg: &Message<'_>) -> Value {
    let r = msg.record;
    let title = truncate(&msg.title(), TITLE_MAX);
    let description = truncate(&escape(&msg.summary()), DESCRIPTION_MAX);
    let footer = truncate(&msg.footer(), FOOTER_MAX);
    let mut used = title.chars().count() + description.chars().count() + footer.chars().count();
    let mut fields = Vec::new();
    for (i, s) in r.services.iter().enumerate() {
        let mut lines: Vec<String> = service_facts(s, msg.test)
            .into_iter()
            .skip(2) // app and environment are in the field's name
            .map(|(label, value)| format!("**{label}**: {}", escape(&value)))
            .collect();
        if !msg.test {
            lines.extend(gate_problems(s).iter().map(|p| format!("✗ {}", escape(p))));
        }
        let name = truncate(
            &format!("{} · {} ({})", s.service, s.app, s.env),
            FIELD_NAME_MAX,
        );
        let value = truncate(&lines.join("\n"), FIELD_VALUE_MAX);
        let size = name.chars().count() + value.chars().count();
        // Keep room for the "more services" field that says what was left out.
        let last_slot = fields.len() + 1 == FIELDS_MAX;
        if used + size + 64 > EMBED_TOTAL_MAX || last_slot {
            let rest = r.services.len() - i;
            fields.push(json!({"name": "More services", "value": format!("{rest} more: see the run's receipt"), "inline": false}));
            break;
        }
        used += size;
        fields.push(json!({"name": name, "value": value, "inline": false}));
    }
    let mut embed = Map::new();
    embed.insert("title".into(), json!(title));
    embed.insert("description".into(), json!(description));
    if let Some(url) = &r.run_url {
        embed.insert("url".into(), json!(url));
    }
    embed.insert("color".into(), json!(color(msg.tone())));
    embed.insert("fields".into(), Value::Array(fields));
    let when = if r.finished_at.is_empty() {
        &r.started_at
    } else {
        &r.finished_at
    };
    if !when.is_empty() {
        embed.insert("timestamp".into(), json!(when));
    }
    embed.insert("footer".into(), json!({"text": footer}));
    json!({
        "username": "shipit",
        "embeds": [Value::Object(embed)],
        "allowed_mentions": {"parse": []},
    })
}

/// Backslash-escapes Discord's markdown characters so values show as written.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_characters_are_escaped() {
        assert_eq!(escape("my_app *v2* `x`"), "my\\_app \\*v2\\* \\`x\\`");
    }
}
