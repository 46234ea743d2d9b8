//! `[[reminders]]` through the real binary: `check` accepts the SPEC's recipe and shows it, and
//! refuses each broken reminder with exit code 2 and a message naming the key.

use crate::support::{assert_check_refuses, run_binary, write_config_text};

const SINKS: &str = r#"
[api]
base_url = "http://127.0.0.1:9"
api_key = "api-key-SECRET1"
[[orgs]]
id = "org-1"
name = "Acme"
[store]
path = "STORE"
[[sinks]]
name = "support-slack"
type = "console"
[[sinks]]
name = "leads-email"
type = "console"
"#;

const RECIPE: &str = r#"
[[reminders]]
name = "unread-inbox"
when = { folder = ["inbox"], is_read = false }
steps = [
  { after = "15m", sinks = ["support-slack"] },
  { after = "1h",  sinks = ["support-slack"] },
  { after = "4h",  sinks = ["support-slack", "leads-email"] },
]
"#;

#[test]
fn check_accepts_the_recipe_and_shows_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config_text(dir.path(), &format!("{SINKS}{RECIPE}"));
    let out = run_binary(&["check"], Some(&path), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("[[reminders]]"), "{stdout}");
    assert!(stdout.contains("name = \"unread-inbox\""), "{stdout}");
    assert!(stdout.contains("after = \"4h\""), "{stdout}");
}

#[test]
fn each_broken_reminder_exits_2_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = format!("{SINKS}{RECIPE}");
    let one_step = "[[reminders]]\nname = \"r\"\nwhen = { is_read = false }\n";
    let cases: Vec<(String, &str)> = vec![
        (
            recipe.replace(
                "\"1h\",  sinks = [\"support-slack\"]",
                "\"1h\", sinks = [\"pager\"]",
            ),
            "reminders[0].steps[1].sinks",
        ),
        (
            recipe.replace("\"1h\"", "\"10m\""),
            "reminders[0].steps[1].after",
        ),
        (
            recipe.replace("\"1h\"", "\"sometime\""),
            "reminders[0].steps[1].after",
        ),
        (
            format!("{SINKS}{one_step}steps = []\n"),
            "reminders[0].steps",
        ),
        (
            recipe.replace("{ folder = [\"inbox\"], is_read = false }", "{}"),
            "reminders[0].when",
        ),
        (
            recipe.replace("folder = [\"inbox\"]", "orgs = [\"org-2\"]"),
            "reminders[0].when.orgs",
        ),
        (format!("{recipe}{RECIPE}"), "reminders[1].name"),
        (
            format!("{recipe}clock = \"support-hours\"\n"),
            "reminders[0].clock",
        ),
    ];
    assert_check_refuses(dir.path(), &cases);
}
