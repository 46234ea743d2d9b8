//! Short numbers for orgs (tree `org_ids`: org id → u32 BE), so that the keys of an org's
//! conversations start with 4 bytes instead of its 60–100 character id (see `snapshot.rs`).
//! Numbers start at 1 and are never reused; they are cached in memory once read.

use super::Result;
use std::collections::HashMap;
use std::sync::Mutex;

/// See the module docs.
#[derive(Debug)]
pub(super) struct OrgNumbers {
    tree: sled::Tree,
    known: Mutex<HashMap<String, u32>>,
}

impl OrgNumbers {
    pub(super) fn new(tree: sled::Tree) -> OrgNumbers {
        OrgNumbers {
            tree,
            known: Mutex::default(),
        }
    }

    /// The org's number, `None` for an org nothing was ever stored for.
    pub(super) fn get(&self, org: &str) -> Result<Option<u32>> {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&number) = known.get(org) {
            return Ok(Some(number));
        }
        let Some(bytes) = self.tree.get(org.as_bytes())? else {
            return Ok(None);
        };
        let bytes: [u8; 4] = bytes
            .as_ref()
            .try_into()
            .map_err(|_| super::corrupt("org number", "not 4 bytes"))?;
        let number = u32::from_be_bytes(bytes);
        known.insert(org.to_string(), number);
        Ok(Some(number))
    }

    /// The org's number, given now when it has none (written at once: the keys about to be
    /// written need it, and a number given is never given again); and whether it was given by
    /// this call.
    pub(super) fn get_or_make(&self, org: &str) -> Result<(u32, bool)> {
        if let Some(number) = self.get(org)? {
            return Ok((number, false));
        }
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&number) = known.get(org) {
            return Ok((number, false)); // given by another thread meanwhile
        }
        let highest = self
            .tree
            .iter()
            .values()
            .filter_map(|v| v.ok()?.as_ref().try_into().ok().map(u32::from_be_bytes))
            .max()
            .unwrap_or(0);
        let number = highest + 1;
        self.tree.insert(org.as_bytes(), &number.to_be_bytes())?;
        known.insert(org.to_string(), number);
        Ok((number, true))
    }
}

impl super::Store {
    /// Whether anything of `org` was ever stored (it has a number). A listing of an org it was
    /// not knows that none of the org's conversations is stored but those it writes itself.
    pub fn knows_org(&self, org: &str) -> Result<bool> {
        Ok(self.numbers.get(org)?.is_some())
    }
}
