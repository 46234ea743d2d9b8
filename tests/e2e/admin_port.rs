//! `server.admin_listen`: the admin endpoints on their own port, through the real binary.

use crate::support::{eventually, free_port, DaemonProcess, World};
use std::time::Duration;

const TOKEN: &str = "admin-token-0123456789";

async fn post(url: String, token: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().post(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn get(url: String, token: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_admin_listen_the_admin_endpoints_answer_only_on_their_own_port() {
    let world = World::start(1, 3).await;
    let (port, admin_port) = (free_port(), free_port());
    let config = world.write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin_port}\"\n\
         admin_token = \"{TOKEN}\"\n[poll]\ninterval = \"1h\"\n"
    ));
    let _daemon = DaemonProcess::start(&config, port).await;
    let (main, admin) = (
        format!("http://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{admin_port}"),
    );

    assert_eq!(post(format!("{main}/admin/poll"), Some(TOKEN)).await, 404);
    let dead = get(format!("{main}/admin/dead-letters"), Some(TOKEN)).await;
    assert_eq!(
        dead, 404,
        "the main port does not offer the admin endpoints"
    );
    assert_eq!(get(format!("{main}/status"), None).await, 200);

    assert_eq!(post(format!("{admin}/admin/poll"), None).await, 401);
    assert_eq!(
        get(format!("{admin}/admin/dead-letters"), Some(TOKEN)).await,
        200
    );
    assert_eq!(
        get(format!("{admin}/metrics"), None).await,
        404,
        "admin only"
    );

    // The baseline poll first, so that the new conversation is a change of the next poll.
    let ready = eventually(Duration::from_secs(15), || async {
        get(format!("{main}/readyz"), None).await == 200
    });
    assert!(ready.await, "the first poll completes");
    let org = world.org(0);
    let created = world.sim.create_conversation(&org);
    assert_eq!(post(format!("{admin}/admin/poll"), Some(TOKEN)).await, 202);
    let received = world.hook.wait_for(1, Duration::from_secs(15)).await;
    assert!(
        received
            .iter()
            .any(|r| r.json().to_string().contains(&created)),
        "the poll asked on the admin port ran"
    );
}

#[test]
fn an_admin_listen_address_in_use_stops_the_start_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notifier.toml");
    let text = format!(
        "[api]\napi_key = \"k\"\nbase_url = \"http://127.0.0.1:9\"\n[store]\npath = {:?}\n\
         [server]\nlisten = \"127.0.0.1:{}\"\nadmin_listen = \"{}\"\nadmin_token = \"{TOKEN}\"\n\
         [[orgs]]\nid = \"org-1\"\n[[sinks]]\nname = \"out\"\ntype = \"console\"\n",
        dir.path().join("store").display().to_string(),
        free_port(),
        taken.local_addr().unwrap(),
    );
    std::fs::write(&path, text).unwrap();
    let out = crate::support::run_binary(&["run"], Some(&path), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("server.admin_listen"), "{stderr}");
}
