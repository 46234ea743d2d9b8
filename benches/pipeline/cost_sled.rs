//! The storage engine's own floor in `cost`: sled alone storing as many conversations as the
//! baseline does, with keys and values of the same sizes (a 4-byte org number and a 50-character
//! id, as the simulator makes them; the record's text without its id), 1,000 keys per
//! transaction as the poller commits them, then flushed. What the service cannot go under while
//! it keeps a key per conversation.

use crate::measure::{measure, Sample};
use crate::{Bench, Lcg};

/// Keys per transaction (the poller's `staged::LIMIT`).
const PER_COMMIT: usize = 1_000;

/// The length of the simulator's conversation ids.
pub const ID_BYTES: usize = 50;

/// About what store format 4 keeps of a simulator record (its text tokenized, see
/// `src/store/tokens.rs`: 48 bytes plus the contact id after its `gAAAAAB`, and the revision).
pub const TOKENIZED_BYTES: usize = 92;

fn key(rng: &mut Lcg) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let id = (0..ID_BYTES).map(|_| ALPHABET[rng.next(ALPHABET.len())]);
    1u32.to_be_bytes().into_iter().chain(id).collect()
}

/// Stores `conversations` values of `value_bytes` on a fresh sled tree: its wall and CPU time
/// (flush included), and the bytes it takes on disk.
pub fn sled_alone(bench: &Bench, conversations: usize, value_bytes: usize) -> (Sample, u64) {
    let dir = bench.dir.path().join("sled-alone");
    let db = sled::Config::new().path(&dir).open().unwrap();
    let tree = db.open_tree("conversations").unwrap();
    let mut rng = Lcg(7);
    let value = vec![b'x'; value_bytes];
    let keys: Vec<Vec<u8>> = (0..conversations).map(|_| key(&mut rng)).collect();
    let ((), sample) = measure(|| {
        for keys in keys.chunks(PER_COMMIT) {
            tree.transaction(|tx| {
                for key in keys {
                    tx.insert(key.as_slice(), value.as_slice())?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .unwrap();
        }
        db.flush().unwrap();
    });
    drop((tree, db));
    let bytes = crate::cost::disk_usage(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    (sample, bytes)
}
