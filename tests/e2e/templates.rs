//! A broken template is a broken configuration: `check` and the start both exit 2, naming the
//! sink's templates and the template.

use crate::support::{run_binary, World};

fn broken_templates(world: &World) -> std::path::PathBuf {
    world.write_config(
        "[[sinks]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"https://hooks.slack.com/services/T/B/X\"\n\
         [sinks.templates]\ntext = \"{{ conversation.id \"\n\
         [[sinks]]\nname = \"mail\"\ntype = \"email\"\nsmtp_url = \"smtp://127.0.0.1:9\"\n\
         from = \"notifier@example.com\"\nto = [\"lead@example.com\"]\n\
         [sinks.templates]\nsubject = \"{% if %}\"\n",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_slack_or_email_template_stops_check_and_the_start_with_exit_2_naming_it() {
    let world = World::start(1, 2).await;
    let config = broken_templates(&world);
    for args in [&["check"][..], &["run", "--once"]] {
        let config = config.clone();
        let out = tokio::task::spawn_blocking(move || run_binary(args, Some(&config), &[]))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("`sinks[1].templates`: sink `chat`: template `text`"),
            "{stderr}"
        );
        assert!(
            stderr.contains("`sinks[2].templates`: sink `mail`: template `subject`"),
            "{stderr}"
        );
    }
    assert_eq!(
        world.sim.request_count(),
        0,
        "nothing was polled with a broken template"
    );
}
