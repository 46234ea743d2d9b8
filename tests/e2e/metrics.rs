//! `/metrics` as scrapers meet it: the format they ask for, and every series an alert needs
//! there from the first scrape, with the build and process metrics beside them.

use crate::support::{find_sample, metric, Daemon, World};
use hyperrep_notifier::simulator::{Fault, FaultRule};

/// What Prometheus 2.x sends when it scrapes.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_the_text_format_unless_the_scraper_prefers_openmetrics() {
    let world = World::start(1, 2).await;
    let daemon = Daemon::start(&world, "[poll]\ninterval = \"1h\"\n").await;
    for accept in [None, Some("text/plain"), Some("*/*")] {
        let (code, content_type, body) = daemon.get_accepting("/metrics", accept).await;
        assert_eq!(code, 200);
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{accept:?}: {content_type}"
        );
        assert!(!body.contains("# EOF"), "{accept:?}: {body}");
        let counter = "# HELP hyperrep_notifier_polls_total Polls of an org, by outcome.\n\
                       # TYPE hyperrep_notifier_polls_total counter\n";
        assert!(body.contains(counter), "{accept:?}: {body}");
    }
    let (code, content_type, body) = daemon
        .get_accepting("/metrics", Some(PROMETHEUS_ACCEPT))
        .await;
    assert_eq!(code, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(
        body.contains("# TYPE hyperrep_notifier_polls counter\n"),
        "{body}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_org_and_sink_series_is_at_zero_before_anything_has_succeeded() {
    let world = World::start(2, 3).await;
    // Every listing is refused: nothing can complete, so nothing can be detected or delivered.
    world.sim.inject(FaultRule::always(Fault::Status(401)));
    let extra = "[poll]\ninterval = \"1h\"\n[[sinks]]\nname = \"stdout\"\ntype = \"console\"\n";
    let daemon = Daemon::start(&world, extra).await;
    let text = daemon.get("/metrics", None).await.1;
    for (i, org) in [world.org(0), world.org(1)].iter().enumerate() {
        let labels = format!("org=\"{org}\",org_name=\"Org {i}\"");
        for series in [
            format!("hyperrep_notifier_polls_total{{{labels},outcome=\"complete\"}}"),
            format!("hyperrep_notifier_last_successful_poll_timestamp_seconds{{{labels}}}"),
        ] {
            assert_eq!(
                find_sample(&text, &series).map(|v| v.parse::<f64>()),
                Some(Ok(0.0)),
                "{series} in\n{text}"
            );
        }
        let incomplete =
            format!("hyperrep_notifier_polls_total{{{labels},outcome=\"incomplete\"}}");
        assert!(
            find_sample(&text, &incomplete).is_some(),
            "{incomplete} in\n{text}"
        );
    }
    for sink in ["hook", "stdout"] {
        let mut zero: Vec<String> = ["delivered", "retrying", "dead_lettered"]
            .iter()
            .map(|o| {
                format!("hyperrep_notifier_deliveries_total{{sink=\"{sink}\",outcome=\"{o}\"}}")
            })
            .collect();
        zero.push(format!("hyperrep_notifier_outbox_depth{{sink=\"{sink}\"}}"));
        zero.push(format!("hyperrep_notifier_dead_letters{{sink=\"{sink}\"}}"));
        for series in zero {
            assert_eq!(
                find_sample(&text, &series),
                Some("0"),
                "{series} in\n{text}"
            );
        }
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_info_names_the_crate_version_and_process_metrics_are_plausible() {
    let world = World::start(1, 2).await;
    let daemon = Daemon::start(&world, "[poll]\ninterval = \"1h\"\n").await;
    let text = daemon.get("/metrics", None).await.1;
    let version = env!("CARGO_PKG_VERSION");
    let build = format!("hyperrep_notifier_build_info{{version=\"{version}\"}}");
    assert_eq!(find_sample(&text, &build), Some("1"), "{text}");

    let now = chrono::Utc::now().timestamp() as f64;
    let started = metric(&text, "process_start_time_seconds");
    assert!(
        started > 1.7e9 && started <= now + 1.0,
        "start time {started}, now {now}"
    );
    assert!(
        metric(&text, "process_resident_memory_bytes") > 1024.0 * 1024.0,
        "{text}"
    );
    let (open, max) = (
        metric(&text, "process_open_fds"),
        metric(&text, "process_max_fds"),
    );
    assert!(open >= 3.0 && max >= open, "open fds {open}, max {max}");
    assert!(
        find_sample(&text, "process_cpu_seconds_total").is_some(),
        "{text}"
    );
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter\n"),
        "{text}"
    );
    daemon.stop().await;
}
