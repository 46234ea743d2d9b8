//! The static listing of `cost`: every page fetched once from the simulator, kept as fixed byte
//! blobs keyed by (org, cursor), and served from the `sim` thread (whose CPU is not counted),
//! so that neither the floor nor the service pays for making JSON. Later versions of the
//! listing have 0.5 % of each org's conversations touched (`last_activity_at` later, `is_read`
//! false), each version against the one before. Also the webhook endpoint the service delivers
//! to ([`Hook`]), on the same thread.

use crate::{Bench, Lcg};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hyperrep_notifier::simulator::Simulator;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The page size the pages are cut at (the service's `api.page_size`, the floor's `limit`).
pub const LIMIT: usize = 100;
/// Share of every org's conversations touched from one version to the next.
pub const CHANGED: f64 = 0.005;

/// One version: page bytes by (org, cursor), the first page under the empty cursor.
type Pages = HashMap<(String, String), Bytes>;

/// Every version of the listing, which one is served, and how many pages were asked for.
pub struct Listing {
    pub orgs: Vec<String>,
    versions: Vec<Pages>,
    current: AtomicUsize,
    requests: AtomicU64,
    /// Pages in one complete listing of every org.
    pub pages_per_poll: u64,
    /// Conversations in one complete listing.
    pub conversations: u64,
    /// Bytes of the conversations' JSON (each record as served, without the page around it).
    pub json_bytes: u64,
    /// Conversations changed from one version to the next.
    pub changed_per_version: u64,
}

impl Listing {
    /// Serves version `v` from now on.
    pub fn set_version(&self, v: usize) {
        self.current.store(v, Ordering::SeqCst);
    }

    /// Listing requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A listing on loopback.
pub struct Served {
    pub listing: Arc<Listing>,
    /// `http://127.0.0.1:PORT/`
    pub base_url: String,
}

/// `orgs` × `per_org` conversations in `versions` versions, served.
pub fn serve(bench: &Bench, orgs: usize, per_org: usize, versions: usize) -> Served {
    let listing = Arc::new(build(bench, orgs, per_org, versions));
    let state = listing.clone();
    let base_url = bench.sim_rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/api/v2/organizations/{org}/conversations",
                axum::routing::get(page),
            )
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    Served { listing, base_url }
}

/// One page, as upstream-api.md pages them: `limit` and `cursor` in, the fixed bytes out.
async fn page(
    State(listing): State<Arc<Listing>>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    listing.requests.fetch_add(1, Ordering::SeqCst);
    if query.get("limit").and_then(|l| l.parse().ok()) != Some(LIMIT) {
        return (StatusCode::BAD_REQUEST, "these pages are cut at limit=100").into_response();
    }
    let cursor = query.get("cursor").cloned().unwrap_or_default();
    let version = &listing.versions[listing.current.load(Ordering::SeqCst)];
    match version.get(&(org, cursor)) {
        Some(bytes) => {
            ([(header::CONTENT_TYPE, "application/json")], bytes.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such page").into_response(),
    }
}

/// Generates the conversations with the simulator, fetches every version's pages from it, and
/// stops it.
fn build(bench: &Bench, orgs: usize, per_org: usize, versions: usize) -> Listing {
    let per_version = (per_org as f64 * CHANGED).round() as usize;
    assert!(
        per_version * versions <= per_org / 2,
        "too many versions to touch apart"
    );
    let sim = bench.simulator(orgs, per_org);
    let ids = sim.org_ids();
    let (mut all, mut rng) = (Vec::<Pages>::new(), Lcg(14));
    let (mut changed, mut touched) = (0, HashSet::new());
    for v in 0..versions {
        if v > 0 {
            changed = touch_distinct(&sim, per_version, &mut rng, &mut touched);
        }
        let mut pages = bench.sim_rt.block_on(fetch(&sim, &ids));
        if let Some(before) = all.last() {
            share_unchanged(&mut pages, before);
        }
        all.push(pages);
    }
    let (conversations, json_bytes) = measure_records(&all[0]);
    bench.sim_rt.block_on(sim.stop());
    Listing {
        orgs: ids,
        pages_per_poll: all[0].len() as u64,
        versions: all,
        current: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        conversations,
        json_bytes,
        changed_per_version: changed as u64,
    }
}

/// Touches `count` of every org's conversations, none touched in an earlier version (the
/// simulator stamps whole seconds: touched twice within one, a conversation would not change):
/// how many in all.
fn touch_distinct(
    sim: &Simulator,
    count: usize,
    rng: &mut Lcg,
    touched: &mut HashSet<(String, usize)>,
) -> usize {
    let mut changed = 0;
    // Terminates: `build` leaves at least half of every org never touched.
    for org in sim.org_ids() {
        let all = sim.conversations(&org);
        let mut picked = 0;
        while picked < count {
            let i = rng.next(all.len());
            if touched.insert((org.clone(), i)) {
                sim.touch(&org, all[i]["conversation_id"].as_str().unwrap());
                picked += 1;
            }
        }
        changed += picked;
    }
    changed
}

/// Pages equal to the previous version's share its bytes (memory: most pages do not change).
fn share_unchanged(pages: &mut Pages, before: &Pages) {
    for (key, bytes) in pages.iter_mut() {
        if let Some(old) = before.get(key).filter(|old| *old == bytes) {
            *bytes = old.clone();
        }
    }
}

/// Every page of every org from the simulator, following `next_cursor`.
async fn fetch(sim: &Simulator, orgs: &[String]) -> Pages {
    let client = reqwest::Client::new();
    let mut pages = Pages::new();
    for org in orgs {
        let mut cursor = String::new();
        loop {
            let mut url = sim.base_url();
            url.set_path(&format!("api/v2/organizations/{org}/conversations"));
            url.query_pairs_mut()
                .append_pair("limit", &LIMIT.to_string());
            if !cursor.is_empty() {
                url.query_pairs_mut().append_pair("cursor", &cursor);
            }
            let request = client.get(url).header("x-api-key", sim.api_key());
            let body = request.send().await.unwrap().bytes().await.unwrap();
            let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
            pages.insert((org.clone(), cursor), body);
            match page["pagination"]["next_cursor"].as_str() {
                Some(next) if page["pagination"]["has_more"] == true => cursor = next.into(),
                _ => break,
            }
        }
    }
    pages
}

/// Conversations in `pages`, and the bytes of their JSON.
fn measure_records(pages: &Pages) -> (u64, u64) {
    let (mut count, mut bytes) = (0, 0);
    for body in pages.values() {
        let page: serde_json::Value = serde_json::from_slice(body).unwrap();
        for record in page["data"].as_array().unwrap() {
            count += 1;
            bytes += serde_json::to_string(record).unwrap().len() as u64;
        }
    }
    (count, bytes)
}

/// A loopback webhook endpoint that answers 200, on the `sim` thread; `hits` counts requests
/// and `bytes` their bodies.
pub struct Hook {
    pub url: String,
    pub hits: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl Hook {
    /// The mean size of the bodies received so far.
    pub fn mean_body(&self) -> usize {
        let hits = self.hits.load(Ordering::SeqCst).max(1);
        (self.bytes.load(Ordering::SeqCst) / hits) as usize
    }
}

pub fn hook(bench: &Bench) -> Hook {
    let (hits, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (counter, sizes) = (hits.clone(), bytes.clone());
    let url = bench.sim_rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(move |body: Bytes| {
            sizes.fetch_add(body.len() as u64, Ordering::SeqCst);
            counter.fetch_add(1, Ordering::SeqCst);
            async { "ok" }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    Hook { url, hits, bytes }
}
