use super::*;
use serde_json::Value;
use std::collections::HashSet;

async fn get(sim: &Simulator, path_and_query: &str, key: &str) -> reqwest::Response {
    crate::install_crypto_provider();
    let url = sim.base_url().join(path_and_query).unwrap();
    reqwest::Client::new()
        .get(url)
        .header("X-API-KEY", key)
        .send()
        .await
        .unwrap()
}

fn list_path(org: &str, limit: usize, cursor: Option<&str>) -> String {
    let cursor = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
    format!("api/v2/organizations/{org}/conversations?limit={limit}{cursor}")
}

async fn walk(sim: &Simulator, org: &str, limit: usize) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page: Value = get(
            sim,
            &list_path(org, limit, cursor.as_deref()),
            &sim.api_key(),
        )
        .await
        .json()
        .await
        .unwrap();
        pages += 1;
        ids.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["conversation_id"].as_str().unwrap().to_string()),
        );
        if !page["pagination"]["has_more"].as_bool().unwrap() {
            assert!(page["pagination"]["next_cursor"].is_null());
            return (ids, pages);
        }
        cursor = Some(
            page["pagination"]["next_cursor"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
}

#[tokio::test]
async fn walking_every_page_returns_each_conversation_once() {
    let sim = Simulator::start(SimConfig {
        orgs: 1,
        conversations_per_org: 250,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let org = &sim.org_ids()[0];
    let (ids, pages) = walk(&sim, org, 100).await;
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 250);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 250);
    assert!(ids.iter().all(|id| id.starts_with("gAAAAAB")));
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_an_unknown_org_is_not_found() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let org = &sim.org_ids()[0];
    assert_eq!(
        get(&sim, &list_path(org, 10, None), "wrong").await.status(),
        401
    );
    assert_eq!(
        get(&sim, &list_path("nope", 10, None), &sim.api_key())
            .await
            .status(),
        404
    );
    assert_eq!(
        get(&sim, &list_path(org, 101, None), &sim.api_key())
            .await
            .status(),
        400
    );
    let id = sim.conversations(org)[0]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let one: Value = get(
        &sim,
        &format!("api/v2/organizations/{org}/conversations/{id}"),
        &sim.api_key(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(one["conversation_id"], id.as_str());
}

#[tokio::test]
async fn a_fault_rule_hits_only_its_page_and_only_as_often_as_asked() {
    let sim = Simulator::start(SimConfig {
        orgs: 1,
        conversations_per_org: 30,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let org = sim.org_ids()[0].clone();
    sim.inject(FaultRule::once(Fault::Status(503)).on_page(1).times(2));
    let first: Value = get(&sim, &list_path(&org, 10, None), &sim.api_key())
        .await
        .json()
        .await
        .unwrap();
    let next = first["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    for expected in [503, 503, 200] {
        assert_eq!(
            get(&sim, &list_path(&org, 10, Some(&next)), &sim.api_key())
                .await
                .status(),
            expected
        );
    }
    sim.inject(
        FaultRule::always(Fault::RateLimited {
            retry_after: Some(2),
        })
        .for_org(&org),
    );
    let limited = get(&sim, &list_path(&org, 10, None), &sim.api_key()).await;
    assert_eq!(
        (
            limited.status().as_u16(),
            limited.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "2")
    );
    sim.clear_faults();
    assert_eq!(
        get(&sim, &list_path(&org, 10, None), &sim.api_key())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn broken_bodies_are_what_their_fault_says() {
    let sim = Simulator::start(SimConfig {
        orgs: 1,
        conversations_per_org: 30,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let org = sim.org_ids()[0].clone();
    let body = |fault: Fault| {
        let sim = sim.clone();
        let org = org.clone();
        async move {
            sim.inject(FaultRule::once(fault));
            get(&sim, &list_path(&org, 10, None), &sim.api_key())
                .await
                .bytes()
                .await
        }
    };
    assert!(serde_json::from_slice::<Value>(&body(Fault::MalformedJson).await.unwrap()).is_err());
    assert!(serde_json::from_slice::<Value>(&body(Fault::TruncatedBody).await.unwrap()).is_err());
    let wrong: Value = serde_json::from_slice(&body(Fault::WrongTypes).await.unwrap()).unwrap();
    assert!(wrong["data"].is_object());
    let looped: Value = serde_json::from_slice(&body(Fault::CursorLoop).await.unwrap()).unwrap();
    assert_eq!(
        crate::simulator::data::decode_cursor(
            looped["pagination"]["next_cursor"].as_str().unwrap()
        ),
        Some(0)
    );
    let no_cursor: Value =
        serde_json::from_slice(&body(Fault::HasMoreWithoutCursor).await.unwrap()).unwrap();
    assert!(
        no_cursor["pagination"]["has_more"].as_bool().unwrap()
            && no_cursor["pagination"]["next_cursor"].is_null()
    );
    let empty: Value = serde_json::from_slice(&body(Fault::EmptyPage).await.unwrap()).unwrap();
    assert_eq!(empty["data"].as_array().unwrap().len(), 0);
    assert!(empty["pagination"]["has_more"].as_bool().unwrap());
    sim.inject(FaultRule::once(Fault::ConnectionReset));
    let url = sim.base_url().join(&list_path(&org, 10, None)).unwrap();
    let sent = reqwest::Client::new()
        .get(url)
        .header("X-API-KEY", sim.api_key())
        .send()
        .await;
    let broken = match sent {
        Err(error) => error.is_request() || error.is_body(),
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(broken, "the client sees a transport error");
}

#[tokio::test]
async fn touch_moves_activity_forward_and_marks_unread() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let org = sim.org_ids()[0].clone();
    let before = sim.conversations(&org)[3].clone();
    let id = before["conversation_id"].as_str().unwrap();
    sim.touch(&org, id);
    sim.touch(&org, id);
    let after = sim.conversations(&org)[3].clone();
    assert!(
        after["last_activity_at"].as_str().unwrap() > before["last_activity_at"].as_str().unwrap()
    );
    assert_eq!(after["is_read"], false);
}

#[tokio::test]
async fn dates_filter_on_start_at() {
    let sim = Simulator::start(SimConfig {
        orgs: 1,
        conversations_per_org: 50,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let org = sim.org_ids()[0].clone();
    let mut starts: Vec<String> = sim
        .conversations(&org)
        .iter()
        .map(|c| c["start_at"].as_str().unwrap().to_string())
        .collect();
    starts.sort();
    let from = &starts[25];
    let path = format!("{}&start_date={from}", list_path(&org, 100, None));
    let page: Value = get(&sim, &path, &sim.api_key()).await.json().await.unwrap();
    let got = page["data"].as_array().unwrap();
    assert!(got
        .iter()
        .all(|c| c["start_at"].as_str().unwrap() >= from.as_str()));
    assert_eq!(got.len(), starts.iter().filter(|s| *s >= from).count());
}
