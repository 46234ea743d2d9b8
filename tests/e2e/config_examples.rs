//! The configurations the project ships (`config/example.toml`, the Kubernetes manifest) used
//! the way the README says: they work once given what the README asks for, and their
//! placeholders are never accepted as real secrets.

use crate::support::run_binary;
use std::path::{Path, PathBuf};

fn shipped(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_shipped_example_passes_check_with_the_api_key_from_the_environment() {
    let example = shipped("config/example.toml");
    let out = run_binary(&["check"], Some(&example), &[("HRN_API__API_KEY", "x")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let env = [("HRN_API__API_KEY", "x"), ("HRN_API__API_KEY_FILE", "")];
    let out = run_binary(&["check"], Some(&example), &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_empty_api_key_file_variable_unsets_the_file_key_so_the_environment_key_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notifier.toml");
    let text = "[api]\napi_key_file = \"/run/secrets/nowhere\"\n\
                [[orgs]]\nid = \"org-1\"\n[[sinks]]\nname = \"out\"\ntype = \"console\"\n";
    std::fs::write(&path, text).unwrap();

    let out = run_binary(&["check"], Some(&path), &[("HRN_API__API_KEY", "x")]);
    assert_eq!(out.status.code(), Some(2), "either/or stays strict");
    assert!(stderr(&out).contains("set either"), "{}", stderr(&out));

    let env = [("HRN_API__API_KEY", "x"), ("HRN_API__API_KEY_FILE", "")];
    let out = run_binary(&["check"], Some(&path), &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("api_key_file"),
        "the file key is gone: {stdout}"
    );
}

/// The admin token the Kubernetes manifest ships in its Secret.
fn manifest_admin_token() -> String {
    let manifest = std::fs::read_to_string(shipped("deploy/kubernetes.yaml")).unwrap();
    let line = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("admin_token:"))
        .expect("the manifest's Secret holds an admin token");
    line.trim().trim_matches('"').to_string()
}

#[test]
fn the_manifest_placeholder_and_weak_admin_tokens_are_refused_naming_server_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin_token");
    let path = dir.path().join("notifier.toml");
    let text = format!(
        "[api]\napi_key = \"k\"\n[server]\nadmin_token_file = {:?}\n\
         [[orgs]]\nid = \"org-1\"\n[[sinks]]\nname = \"out\"\ntype = \"console\"\n",
        token_file.display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    let placeholder = manifest_admin_token();
    for token in [placeholder.as_str(), "short-Token1", "abababababababababab"] {
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        for command in [&["check"][..], &["run", "--once"][..]] {
            let out = run_binary(command, Some(&path), &[]);
            let stderr = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{token} via {command:?}: {stderr}"
            );
            assert!(stderr.contains("`server.admin_token`"), "{stderr}");
            assert!(
                !stderr.contains(token),
                "the token is never quoted: {stderr}"
            );
        }
    }
    std::fs::write(&token_file, "4f9c1e7a2b8d6053e1c9a7f2\n").unwrap();
    let out = run_binary(&["check"], Some(&path), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a random token is fine: {}",
        stderr(&out)
    );
}
