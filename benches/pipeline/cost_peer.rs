//! The peer of `cost`: `benches/peer/peer.py`, the cron script a competent user would write
//! (Python `requests` and `sqlite3`), a fresh process each run, its CPU time from `wait4`.

use crate::cost_pages::Served;
use crate::measure::{run_child, Sample};
use crate::Bench;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peer/peer.py");

/// Whether `python3` can import `requests`, installing it with pip (for this user) once when it
/// cannot: `Err` says why the peer is not run.
pub fn available() -> Result<(), String> {
    let imports = || {
        Command::new("python3")
            .args(["-c", "import requests, sqlite3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if imports() {
        return Ok(());
    }
    let _ = Command::new("python3")
        .args(["-m", "pip", "install", "--user", "--quiet", "requests"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if imports() {
        Ok(())
    } else {
        Err("python requests unavailable".into())
    }
}

/// The peer's database and what it lists and notifies.
pub struct Peer {
    db: PathBuf,
    out: PathBuf,
    args: Vec<String>,
}

/// What one run saw, as the script prints it.
#[derive(serde::Deserialize)]
pub struct Outcome {
    pub pages: u64,
    pub seen: u64,
    pub changed: u64,
}

impl Peer {
    pub fn new(bench: &Bench, served: &Served, hook: &str) -> Peer {
        let db = bench.dir.path().join("peer.sqlite");
        let mut args = vec![
            served.base_url.clone(),
            "bench-key".into(),
            db.display().to_string(),
            hook.into(),
        ];
        args.extend(served.listing.orgs.iter().cloned());
        let out = bench.dir.path().join("peer.out");
        Peer { db, out, args }
    }

    /// One run: its wall and CPU time and what it saw.
    pub fn run(&self) -> (Sample, Outcome) {
        let out = std::fs::File::create(&self.out).unwrap();
        let mut command = Command::new("python3");
        command.arg(SCRIPT).args(&self.args).stdout(out);
        let (ok, sample) = run_child(&mut command);
        assert!(ok, "the peer failed (database {})", self.db.display());
        let printed = std::fs::read_to_string(&self.out).unwrap();
        (sample, serde_json::from_str(printed.trim()).unwrap())
    }
}
