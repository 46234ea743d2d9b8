#!/usr/bin/env python3
"""The peer of `cargo bench --bench pipeline -- cost`: the cron script a competent user would
write instead of running hyperrep-notifier. One `requests` Session, one sqlite3 database.

Every page of every org is listed; per page, one batched SELECT of the stored bodies, one
transaction writing only the rows that changed, and one webhook POST per change, sent before
the transaction commits (so that a failed POST is retried by the next run: at least once).
The first run (an empty database) records what it sees and sends nothing, like the notifier's
`initial = "baseline"`.

usage: peer.py BASE_URL API_KEY DB WEBHOOK_URL ORG...
prints: {"pages": N, "seen": N, "changed": N}
"""

import json
import sqlite3
import sys

import requests

LIMIT = 100


def open_db(path):
    db = sqlite3.connect(path)
    # What a careful user sets for a small local database: WAL, fsync at checkpoints.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS conv (id TEXT PRIMARY KEY, org TEXT NOT NULL, body TEXT NOT NULL)"
    )
    db.commit()
    return db


def pages(session, base_url, org):
    """Every page of `org`, following next_cursor while has_more."""
    url = f"{base_url}api/v2/organizations/{org}/conversations"
    cursor = None
    while True:
        params = {"limit": LIMIT}
        if cursor:
            params["cursor"] = cursor
        response = session.get(url, params=params, timeout=30)
        response.raise_for_status()
        page = response.json()
        yield page["data"]
        pagination = page["pagination"]
        cursor = pagination.get("next_cursor")
        if not (pagination.get("has_more") and cursor):
            return


def changed_rows(db, org, data):
    """The page's conversations whose stored body differs (or that are new), each with
    whether it is new."""
    bodies = {
        c["conversation_id"]: json.dumps(c, sort_keys=True, separators=(",", ":"))
        for c in data
    }
    if not bodies:
        return []
    marks = ",".join("?" * len(bodies))
    known = dict(
        db.execute(f"SELECT id, body FROM conv WHERE id IN ({marks})", list(bodies))
    )
    return [
        (cid, org, body, cid not in known)
        for cid, body in bodies.items()
        if known.get(cid) != body
    ]


def notify(session, webhook, org, body, created):
    event = {
        "type": "conversation.created" if created else "conversation.updated",
        "org": org,
        "conversation": json.loads(body),
    }
    session.post(webhook, json=event, timeout=30).raise_for_status()


def main():
    base_url, api_key, db_path, webhook, *orgs = sys.argv[1:]
    db = open_db(db_path)
    baseline = db.execute("SELECT count(*) FROM conv").fetchone()[0] == 0
    session = requests.Session()
    session.headers["X-API-KEY"] = api_key
    counts = {"pages": 0, "seen": 0, "changed": 0}
    for org in orgs:
        for data in pages(session, base_url, org):
            counts["pages"] += 1
            counts["seen"] += len(data)
            rows = changed_rows(db, org, data)
            if not rows:
                continue
            with db:
                if not baseline:
                    for _, _, body, created in rows:
                        notify(session, webhook, org, body, created)
                    counts["changed"] += len(rows)
                db.executemany(
                    "INSERT INTO conv (id, org, body) VALUES (?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                    [row[:3] for row in rows],
                )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
