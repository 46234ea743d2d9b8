//! The floor of `cost`: the least a poll of the listing can cost, in-process on the bench
//! thread. One HTTP client holding one connection, every page of every org one after the other,
//! each page read into typed structs and dropped. No store, no diff, nothing else. Beside it, a
//! reference for polls that change something: the same client POSTing one webhook per change,
//! one after the other on its connection (what any notifier must at least add per change).

use crate::cost_pages::{Served, LIMIT};
use crate::measure::{measure, Sample};
use crate::Bench;
use serde::Deserialize;

/// A listing page, typed (upstream-api.md).
#[derive(Deserialize)]
struct Page {
    data: Vec<Conv>,
    pagination: Pagination,
}

#[derive(Deserialize)]
struct Pagination {
    next_cursor: Option<String>,
    has_more: bool,
}

/// A conversation: parsed, as any poller must, and never looked at again.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Conv {
    conversation_id: String,
    start_at: Option<String>,
    last_activity_at: Option<String>,
    folder: Option<String>,
    is_read: Option<bool>,
    contact_id: Option<String>,
}

/// The floor's client and what it lists.
pub struct Floor {
    client: reqwest::Client,
    base_url: String,
    orgs: Vec<String>,
}

impl Floor {
    pub fn new(served: &Served) -> Floor {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        Floor {
            client,
            base_url: served.base_url.clone(),
            orgs: served.listing.orgs.clone(),
        }
    }

    /// One listing of every org, measured on the bench thread: its wall and CPU time.
    pub fn run(&self, bench: &Bench) -> Sample {
        let (seen, sample) = measure(|| bench.rt.block_on(self.list()));
        assert!(seen > 0, "the floor saw no conversations");
        sample
    }

    /// `count` POSTs of `bytes` each (the size of the service's webhooks) to `url`, one after
    /// the other on the floor's connection, measured on the bench thread: wall and CPU time.
    pub fn posts(&self, bench: &Bench, url: &str, count: u64, bytes: usize) -> Sample {
        // Bytes: each request shares the one buffer (no copy per POST).
        let body = axum::body::Bytes::from(vec![b' '; bytes]);
        let ((), sample) = measure(|| {
            bench.rt.block_on(async {
                for _ in 0..count {
                    let request = self.client.post(url).body(body.clone());
                    let response = request.header("content-type", "application/json").send();
                    let answer = response.await.unwrap().error_for_status().unwrap();
                    answer.bytes().await.unwrap();
                }
            })
        });
        sample
    }

    /// The reference for a poll with `changes` changes: a floor run, then as many POSTs of
    /// `bytes` to `url`; `runs` times.
    pub fn with_posts(
        &self,
        bench: &Bench,
        runs: usize,
        url: &str,
        changes: u64,
        bytes: usize,
    ) -> Vec<Sample> {
        let one = || {
            let (list, posts) = (self.run(bench), self.posts(bench, url, changes, bytes));
            Sample {
                wall: list.wall + posts.wall,
                cpu: list.cpu + posts.cpu,
            }
        };
        (0..runs).map(|_| one()).collect()
    }

    /// Every page of every org, sequentially: how many conversations.
    async fn list(&self) -> usize {
        let mut seen = 0;
        for org in &self.orgs {
            let base = format!("{}api/v2/organizations/{org}/conversations", self.base_url);
            let mut cursor: Option<String> = None;
            loop {
                let mut url = url::Url::parse(&base).unwrap();
                url.query_pairs_mut()
                    .append_pair("limit", &LIMIT.to_string());
                if let Some(cursor) = cursor.take() {
                    url.query_pairs_mut().append_pair("cursor", &cursor);
                }
                let request = self.client.get(url);
                let response = request.header("x-api-key", "bench-key").send().await;
                let body = response.unwrap().error_for_status().unwrap().bytes().await;
                let page: Page = serde_json::from_slice(&body.unwrap()).unwrap();
                seen += page.data.len();
                match page.pagination {
                    Pagination {
                        has_more: true,
                        next_cursor: Some(next),
                    } => cursor = Some(next),
                    _ => break,
                }
            }
        }
        seen
    }
}
