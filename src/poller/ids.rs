//! The ids a listing has seen, kept as 64-bit hashes: 8 bytes an id instead of its 60–100. Two
//! ids may share a hash (about one chance in 10^9 for 100,000 ids): then a removal or a reminder
//! of one of them waits for a listing without the other, or a first listing reads the store once
//! more than it had to.

use foldhash::fast::RandomState;
use std::collections::HashSet;
use std::hash::BuildHasher;

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct IdSet {
    hasher: RandomState,
    hashes: HashSet<u64, RandomState>,
}

impl IdSet {
    pub(super) fn insert(&mut self, id: &str) {
        let hash = self.hasher.hash_one(id);
        self.hashes.insert(hash);
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.hashes.contains(&self.hasher.hash_one(id))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::IdSet;

    #[test]
    fn an_id_is_in_the_set_once_inserted_and_others_are_not() {
        let mut ids = IdSet::default();
        assert!(ids.is_empty());
        ids.insert("c1");
        assert!(ids.contains("c1"));
        assert!(!ids.contains("c2"));
        assert!(!ids.is_empty());
    }
}
