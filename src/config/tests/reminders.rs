//! `[[reminders]]`: what loads, what each mistake is reported under, and how `check` shows it.

use super::*;

const BASE: &str = r#"
[api]
api_key = "k"
[[orgs]]
id = "org-1"
[[sinks]]
name = "support-slack"
type = "console"
[[sinks]]
name = "leads-email"
type = "console"
"#;

const UNREAD_INBOX: &str = r#"
[[reminders]]
name = "unread-inbox"
when = { folder = ["inbox"], is_read = false }
steps = [
  { after = "15m", sinks = ["support-slack"] },
  { after = "1h",  sinks = ["support-slack"] },
  { after = "4h",  sinks = ["support-slack", "leads-email"] },
]
"#;

fn reported(toml: &str) -> Vec<(String, String)> {
    match load_str(toml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.into_iter().map(|e| (e.key, e.reason)).collect(),
    }
}

fn keys(toml: &str) -> Vec<String> {
    reported(toml).into_iter().map(|(key, _)| key).collect()
}

#[test]
fn the_spec_recipe_loads_with_its_steps_in_order() {
    let config = load_str(&format!("{BASE}{UNREAD_INBOX}")).unwrap();
    let reminder = &config.reminders[0];
    assert_eq!(reminder.name, "unread-inbox");
    assert_eq!(reminder.when.is_read, Some(false));
    let afters: Vec<u64> = reminder.steps.iter().map(|s| s.after.as_secs()).collect();
    assert_eq!(afters, [900, 3600, 14400]);
    assert_eq!(reminder.steps[2].sinks, ["support-slack", "leads-email"]);
    assert_eq!(reminder.clock, None);
    assert!(crate::reminders::Reminder::try_from(reminder).is_ok());
}

#[test]
fn a_configuration_without_reminders_shows_no_reminders_key() {
    let config = load_str(BASE).unwrap();
    assert!(config.reminders.is_empty());
    assert!(!config.to_redacted_toml().contains("reminders"));
}

#[test]
fn check_shows_reminders_with_their_durations_as_written() {
    let config = load_str(&format!("{BASE}{UNREAD_INBOX}")).unwrap();
    let shown = config.to_redacted_toml();
    assert!(shown.contains("[[reminders]]"), "{shown}");
    assert!(
        shown.contains("after = \"15m\"") && shown.contains("after = \"4h\""),
        "{shown}"
    );
    let again = load_str(&shown).unwrap();
    assert_eq!(
        again.reminders, config.reminders,
        "what check shows loads back"
    );
}

#[test]
fn each_reminder_mistake_is_reported_under_its_key() {
    let recipe = format!("{BASE}{UNREAD_INBOX}");
    let cases = [
        (
            recipe.replace(
                "\"1h\",  sinks = [\"support-slack\"]",
                "\"1h\", sinks = [\"nobody\"]",
            ),
            "reminders[0].steps[1].sinks",
        ),
        (
            recipe.replace("\"1h\"", "\"15m\""),
            "reminders[0].steps[1].after",
        ),
        (
            recipe.replace("\"4h\"", "\"30m\""),
            "reminders[0].steps[2].after",
        ),
        (
            recipe.replace("\"1h\"", "\"an hour\""),
            "reminders[0].steps[1].after",
        ),
        (
            recipe.replace("sinks = [\"support-slack\", \"leads-email\"]", "sinks = []"),
            "reminders[0].steps[2].sinks",
        ),
        (
            recipe.replace(
                "[\"support-slack\", \"leads-email\"]",
                "[\"support-slack\", \"support-slack\"]",
            ),
            "reminders[0].steps[2].sinks",
        ),
        (
            format!(
                "{BASE}[[reminders]]\nname = \"r\"\nwhen = {{ is_read = false }}\nsteps = []\n"
            ),
            "reminders[0].steps",
        ),
        (
            recipe.replace("{ folder = [\"inbox\"], is_read = false }", "{}"),
            "reminders[0].when",
        ),
        (
            recipe.replace("folder = [\"inbox\"], ", "orgs = [\"org-9\"], "),
            "reminders[0].when.orgs",
        ),
        (
            recipe.replace("folder = [\"inbox\"]", "folder = []"),
            "reminders[0].when.folder",
        ),
        (
            recipe.replace("is_read = false", "events = [\"conversation.created\"]"),
            "reminders[0].when.events",
        ),
        (
            recipe.replace("name = \"unread-inbox\"", "name = \"unread inbox\""),
            "reminders[0].name",
        ),
        (format!("{recipe}{UNREAD_INBOX}"), "reminders[1].name"),
        (
            recipe.replace("name = \"unread-inbox\"", "name = \"x\"\nsnooze = \"1h\""),
            "reminders[0].snooze",
        ),
        (
            recipe.replace("after = \"15m\",", "after = \"15m\", delay = 1,"),
            "reminders[0].steps[0].delay",
        ),
    ];
    for (toml, key) in cases {
        assert_eq!(keys(&toml), [key], "{toml}");
    }
}

#[test]
fn an_unknown_sink_in_a_step_is_named_in_the_reason() {
    let toml = format!("{BASE}{UNREAD_INBOX}").replace("\"leads-email\"]", "\"leeds-email\"]");
    let errors = reported(&toml);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].1.contains("`leeds-email`"), "{errors:?}");
}
