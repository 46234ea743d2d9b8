//! `server.admin_listen`: accepted beside `listen`, refused where it could only mislead.

use super::*;

const BASE: &str = "[api]\napi_key = \"k\"\n[[orgs]]\nid = \"org-1\"\n\
                    [[sinks]]\nname = \"out\"\ntype = \"console\"\n[server]\n";
const TOKEN: &str = "admin_token = \"admin-token-0123456789\"\n";

#[test]
fn an_admin_port_beside_the_main_one_is_accepted() {
    let config = load_str(&format!("{BASE}{TOKEN}admin_listen = \"127.0.0.1:9465\"\n")).unwrap();
    assert_eq!(
        config.server.admin_listen,
        Some("127.0.0.1:9465".parse().unwrap())
    );
}

#[test]
fn an_admin_port_equal_to_the_main_one_or_without_a_token_is_refused() {
    let same =
        format!("{BASE}{TOKEN}listen = \"127.0.0.1:9464\"\nadmin_listen = \"127.0.0.1:9464\"\n");
    assert_eq!(keys_of(&same), ["server.admin_listen"]);
    let tokenless = format!("{BASE}admin_listen = \"127.0.0.1:9465\"\n");
    assert_eq!(keys_of(&tokenless), ["server.admin_listen"]);
}
