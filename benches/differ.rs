//! The differ per conversation: a page of 100 conversations compared with their stored
//! snapshots, unchanged, all changed, and all new. And the fast path that keeps unchanged
//! conversations away from the differ and the store: a fingerprint looked up in an org's set of
//! 100,000.

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hyperrep_notifier::diff::{diff_page, DiffContext, Stored};
use hyperrep_notifier::event::Conversation;
use hyperrep_notifier::store::Fingerprints;
use serde_json::json;
use std::hint::black_box;

fn page(read: bool) -> Vec<Conversation> {
    (0..100)
        .map(|i| {
            // As a page delivers them: parsed from their text, which they keep.
            let record = json!({
                "conversation_id": format!("gAAAAABconversation{i:040}"), "start_at": "2026-04-29T14:00:00Z",
                "last_activity_at": "2026-04-29T16:00:00Z", "folder": "inbox", "is_read": read,
                "contact_id": format!("gAAAAABcontact{i:040}")
            });
            Conversation::from_json(&record.to_string()).unwrap()
        })
        .collect()
}

fn differ(c: &mut Criterion) {
    let ctx = DiffContext {
        org_id: "org",
        org_name: "Org",
        emit: true,
        detected_at: Utc::now(),
    };
    let before = page(true);
    let stored: Vec<Option<Stored>> = before
        .iter()
        .map(|c| {
            Some(Stored {
                revision: 3,
                conversation: c.clone(),
            })
        })
        .collect();
    let changed = page(false);
    let nothing: Vec<Option<Stored>> = vec![None; 100];
    let mut group = c.benchmark_group("differ");
    group.throughput(Throughput::Elements(100));
    group.bench_function("unchanged", |b| {
        b.iter(|| diff_page(black_box(&ctx), black_box(&before), black_box(&stored)))
    });
    group.bench_function("changed", |b| {
        b.iter(|| diff_page(black_box(&ctx), black_box(&changed), black_box(&stored)))
    });
    group.bench_function("new", |b| {
        b.iter(|| diff_page(black_box(&ctx), black_box(&changed), black_box(&nothing)))
    });
    group.finish();
}

fn fingerprints(c: &mut Criterion) {
    let fingerprints = Fingerprints::new();
    let prints = fingerprints.org("org");
    let page = page(true);
    {
        let mut known = prints.lock();
        known.extend((0..100_000u64).map(|i| fingerprints.of(&i.to_le_bytes())));
        known.extend(page.iter().map(|c| fingerprints.of(&c.to_bytes())));
    }
    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Elements(100));
    group.bench_function("known", |b| {
        b.iter(|| {
            let known = prints.lock();
            black_box(&page)
                .iter()
                .filter(|c| known.contains(&fingerprints.of(&c.to_bytes())))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, differ, fingerprints);
criterion_main!(benches);
