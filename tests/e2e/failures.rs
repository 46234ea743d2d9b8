//! Failures are seen, and nothing grows forever: a daemon whose HTTP server ends or whose disk
//! fills exits 1 (its orchestrator restarts it) and loses nothing; old entries and old dead
//! letters leave the store.

use crate::support::{binary, run_binary, Reply, World};
use hyperrep_notifier::dispatch::{sweep_dead_letters, Outcome};
use hyperrep_notifier::store::{Commit, OutboxEntry};
use hyperrep_notifier::App;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_daemon_whose_http_server_ends_stops_with_an_error() {
    let world = World::start(1, 2).await;
    let app = world.app("[poll]\ninterval = \"200ms\"\n");
    let server = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(())
    });
    let run = hyperrep_notifier::supervise(app, server, CancellationToken::new());
    let ended = tokio::time::timeout(Duration::from_secs(20), run).await;
    let error = ended
        .expect("it stops instead of polling on without /healthz")
        .unwrap_err();
    assert!(error.to_string().contains("HTTP server ended"), "{error}");
}

/// One entry for `hook`, queued `age` ago and never attempted.
fn queue_old_entry(app: &App, org: &str, age: chrono::Duration) {
    let then = chrono::Utc::now() - age;
    let entry = OutboxEntry::new(hyperrep_notifier::render::sample_event(), then);
    let commit = Commit {
        outbox: vec![("hook".into(), entry)],
        ..Commit::default()
    };
    app.store.commit(org, &commit).unwrap();
}

#[tokio::test]
async fn an_entry_older_than_max_age_is_a_dead_letter_even_if_never_attempted() {
    let world = World::start(1, 2).await;
    let app = world.app("");
    queue_old_entry(&app, &world.org(0), chrono::Duration::hours(25));

    let outcomes = app.deliver_due().await.unwrap();

    assert!(outcomes.is_empty(), "no attempt: {outcomes:?}");
    assert!(
        world.hook.received().is_empty(),
        "a day-old alert is not sent"
    );
    let letters = app.store.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].reason.contains("delivery.max_age"),
        "{}",
        letters[0].reason
    );
    assert_eq!(letters[0].entry.attempts, 0);
}

#[tokio::test]
async fn dead_letters_are_kept_for_keep_dead_letters_then_removed() {
    let world = World::start(1, 2).await;
    world.hook.answer_always(Reply::Status(400));
    let app = world.app("");
    queue_old_entry(&app, &world.org(0), chrono::Duration::minutes(1));
    assert!(matches!(
        app.deliver_due().await.unwrap()[..],
        [Outcome::DeadLettered { .. }]
    ));
    let keep = Duration::from_secs(30 * 86_400);
    let day = chrono::Duration::days(1);

    let now = chrono::Utc::now();
    assert_eq!(
        sweep_dead_letters(&app.store, keep, now + day * 29).unwrap(),
        0
    );
    assert_eq!(
        app.store.dead_letters().unwrap().len(),
        1,
        "kept within 30 days"
    );
    assert_eq!(
        sweep_dead_letters(&app.store, keep, now + day * 31).unwrap(),
        1
    );
    assert!(
        app.store.dead_letters().unwrap().is_empty(),
        "gone after 30 days"
    );
    assert_eq!(app.store.sink_counts("hook").dead, 0);
}

/// The size of the largest file under `dir`.
fn largest_file(dir: &std::path::Path) -> u64 {
    let mut largest = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        largest = largest.max(if meta.is_dir() {
            largest_file(&entry.path())
        } else {
            meta.len()
        });
    }
    largest
}

/// The daemon binary with SIGXFSZ ignored, so that a write past a file size limit fails with a
/// real I/O error from the kernel (EFBIG), as on a full disk, instead of killing the process.
fn daemon_feeling_file_limits(config: &std::path::Path) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut command = binary();
    command.arg("--config").arg(config).arg("run");
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    command.spawn().unwrap()
}

/// From now on, no file of process `pid` may grow past `limit` bytes: the disk is full.
fn fill_the_disk_of(pid: u32, limit: u64) {
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit reads `rlimit` and writes nothing when the last argument is null.
    let set = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &rlimit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_daemon_with_an_error_and_the_restart_loses_no_change() {
    let world = World::start(1, 40).await;
    let extra = "[poll]\ninterval = \"100ms\"\n[server]\nlisten = \"127.0.0.1:0\"\n";
    let config = world.write_config(extra);
    let baseline = config.clone();
    let out =
        tokio::task::spawn_blocking(move || run_binary(&["run", "--once"], Some(&baseline), &[]));
    assert_eq!(out.await.unwrap().status.code(), Some(0));
    let mut daemon = daemon_feeling_file_limits(&config);
    let started = crate::support::eventually(Duration::from_secs(10), || async {
        world.sim.request_count() > 8
    });
    assert!(started.await, "the daemon polls");
    fill_the_disk_of(daemon.id(), largest_file(&world.store_path()));

    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    let (mut status, mut touched) = (None, std::collections::HashSet::new());
    for round in 0..400 {
        for id in ids.iter().cycle().skip(round * 5).take(5) {
            world.sim.touch(&org, id);
            touched.insert(id.clone());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = daemon.try_wait().unwrap();
        if status.is_some() {
            break;
        }
    }
    let Some(status) = status else {
        daemon.kill().unwrap();
        panic!("the daemon went on without a writable store");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(daemon.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("store cannot be written"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Space is back: the restart delivers every conversation's latest change.
    let out =
        tokio::task::spawn_blocking(move || run_binary(&["run", "--once"], Some(&config), &[]));
    assert_eq!(out.await.unwrap().status.code(), Some(0));
    let delivered: std::collections::HashSet<(String, String)> = world
        .hook
        .events()
        .iter()
        .map(|e| {
            let c = &e["data"]["conversation"];
            (
                c["conversation_id"].as_str().unwrap().into(),
                c["last_activity_at"].as_str().unwrap().into(),
            )
        })
        .collect();
    for conversation in world.sim.conversations(&org) {
        let id = conversation["conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
        let last = conversation["last_activity_at"]
            .as_str()
            .unwrap()
            .to_string();
        if touched.contains(&id) {
            assert!(
                delivered.contains(&(id.clone(), last)),
                "{id}: its latest state was delivered"
            );
        }
    }
}
