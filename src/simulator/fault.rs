//! The ways the simulator fails, and which requests get them.

use std::time::Duration;

/// A way to fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// That status, with a small JSON error body.
    Status(u16),
    /// 429, with `Retry-After: N` seconds when given.
    RateLimited { retry_after: Option<u64> },
    /// Answer normally, this much later.
    Delay(Duration),
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 200 with the page's JSON cut in half.
    TruncatedBody,
    /// 200 with JSON of the wrong shape (`data` an object, `has_more` a string).
    WrongTypes,
    /// The real data, but `next_cursor` points back at this page and `has_more` is true.
    CursorLoop,
    /// The real data, `has_more` true and no `next_cursor`.
    HasMoreWithoutCursor,
    /// No data, the real pagination.
    EmptyPage,
    /// Headers, then the connection breaks mid-body.
    ConnectionReset,
    /// The real page padded to about `bytes` with an extra field, streamed without a length.
    HugePage { bytes: usize },
}

/// Which requests get a fault, and how many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only this org's requests; all when `None`.
    pub org: Option<String>,
    /// Only this page of a listing (0 = the first); all when `None`.
    pub page: Option<usize>,
    /// Matching requests that get it (`usize::MAX`: until cleared).
    pub times: usize,
    /// The fault.
    pub fault: Fault,
}

impl FaultRule {
    /// The next request, any org, any page.
    pub fn once(fault: Fault) -> Self {
        FaultRule {
            org: None,
            page: None,
            times: 1,
            fault,
        }
    }
    /// Every request until [`Simulator::clear_faults`].
    pub fn always(fault: Fault) -> Self {
        FaultRule {
            times: usize::MAX,
            ..FaultRule::once(fault)
        }
    }
    /// Only requests for `org`.
    pub fn for_org(self, org: &str) -> Self {
        FaultRule {
            org: Some(org.to_string()),
            ..self
        }
    }
    /// Only page `page` of a listing.
    pub fn on_page(self, page: usize) -> Self {
        FaultRule {
            page: Some(page),
            ..self
        }
    }
    /// `times` matching requests.
    pub fn times(self, times: usize) -> Self {
        FaultRule { times, ..self }
    }
}
