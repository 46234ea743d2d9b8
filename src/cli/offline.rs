//! Commands that work on the store while the daemon is stopped: `status` and `dead-letters`.
//! While a daemon holds the store they say so, and point to its endpoints.

use super::DeadLetterCommand;
use crate::config::Config;
use crate::store::{DeadFilter, DeadLetter, Store, StoreError};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

/// Opens the existing store; these commands never create one (a mistyped `store.path` must not
/// report an empty, healthy notifier).
pub(super) fn open(config: &Config) -> Result<Store, ExitCode> {
    let path = &config.store.path;
    if !path.exists() {
        eprintln!(
            "error: there is no store at {} (store.path): the notifier has not run with this \
             configuration yet, or store.path points elsewhere",
            path.display()
        );
        return Err(ExitCode::FAILURE);
    }
    Store::open(&config.store.path, config.store.cache_mb).map_err(|error| {
        match error {
            StoreError::Locked { path } => eprintln!(
                "the store at {} is in use by a running hyperrep-notifier.\n\
                 Ask the running instance instead: GET http://{}/status, GET /admin/dead-letters, \
                 POST /admin/dead-letters/{{id}}/retry, POST /admin/replay (admin endpoints need \
                 server.admin_token).",
                path.display(),
                config.server.listen
            ),
            other => eprintln!(
                "error: cannot open the store at {}: {other}",
                config.store.path.display()
            ),
        }
        ExitCode::FAILURE
    })
}

/// `status`.
pub async fn status(config: Config, json: bool) -> ExitCode {
    let store = match open(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    match crate::status::collect(&store, &config) {
        Ok(status) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&status).expect("status serialises")
            );
            ExitCode::SUCCESS
        }
        Ok(status) => {
            print!("{}", status.to_text());
            ExitCode::SUCCESS
        }
        Err(error) => super::report(Err(error.into())),
    }
}

/// `dead-letters …`.
pub async fn dead_letters(config: Config, command: DeadLetterCommand) -> ExitCode {
    let store = match open(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let named = match &command {
        DeadLetterCommand::Retry { sink, .. } | DeadLetterCommand::Purge { sink, .. } => sink,
        DeadLetterCommand::List { .. } => &None,
    };
    if let Some(unknown) = named
        .as_deref()
        .filter(|s| !known_sinks(&config, &store).contains(*s))
    {
        // A typo must not report "0 purged" as if all were well.
        let known = known_sinks(&config, &store)
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!("error: --sink {unknown}: no such sink (known: {known})");
        return ExitCode::from(2);
    }
    let result = match command {
        DeadLetterCommand::List { json } => list(&store, json),
        DeadLetterCommand::Retry { id: Some(id), .. } => retry(&store, &[id]),
        DeadLetterCommand::Retry { id: None, sink, .. } => retry_all(&store, sink),
        DeadLetterCommand::Purge { sink, older_than } => purge(&store, sink, older_than),
    };
    let flushed = store.flush().await;
    super::report(result.and(flushed.map_err(Into::into)))
}

/// The configured sinks and those the store still holds entries or dead letters for.
fn known_sinks(config: &Config, store: &Store) -> BTreeSet<String> {
    let configured = config.sinks.iter().map(|s| s.name().to_string());
    configured
        .chain(store.sinks_with_entries().into_keys())
        .collect()
}

fn retry_all(store: &Store, sink: Option<String>) -> anyhow::Result<()> {
    let filter = DeadFilter {
        sink,
        ..DeadFilter::default()
    };
    let n = store.retry_dead_letters(&filter)?;
    println!("re-queued {n} dead letters; they are delivered when the notifier runs");
    Ok(())
}

fn purge(store: &Store, sink: Option<String>, older_than: Option<Duration>) -> anyhow::Result<()> {
    let dead_before = older_than.map(|age| {
        crate::backoff::ago(chrono::Utc::now(), age)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    });
    let n = store.purge_dead_letters(&DeadFilter { sink, dead_before })?;
    println!("purged {n} dead letters");
    Ok(())
}

fn list(store: &Store, json: bool) -> anyhow::Result<()> {
    let letters = store.dead_letters()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&letters)?);
        return Ok(());
    }
    if letters.is_empty() {
        println!("no dead letters");
    }
    for letter in &letters {
        println!("{}", line(letter));
    }
    Ok(())
}

/// `17  hook  conversation.updated  evt_…  org …  conversation …  5 attempts  2026-…  reason`
fn line(letter: &DeadLetter) -> String {
    let event = &letter.entry.event;
    format!(
        "{}  sink {}  {}  {}  org {}  conversation {}  {} attempts  dead since {}  {}",
        letter.id,
        letter.sink,
        event.kind.as_str(),
        event.id,
        event.data.org_id,
        event.data.conversation.id(),
        letter.entry.attempts,
        letter
            .dead_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        letter.reason
    )
}

fn retry(store: &Store, ids: &[u64]) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for id in ids {
        if store.retry_dead_letter(*id)?.is_some() {
            println!("re-queued dead letter {id}; it is delivered when the notifier runs");
        } else {
            missing.push(id.to_string());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("no dead letter with id {}", missing.join(", "))
    }
}
