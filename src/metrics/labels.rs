//! The label sets of the notifier's metric families.

use prometheus_client::encoding::EncodeLabelSet;

/// `org` and `org_name` labels: the id joins with the configuration and the API, the name is
/// what a person reads on a dashboard.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrgLabel {
    /// Org id.
    pub org: String,
    /// The org's configured name, or its id.
    pub org_name: String,
}

/// `org`, `org_name` and `outcome` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrgOutcome {
    /// Org id.
    pub org: String,
    /// The org's configured name, or its id.
    pub org_name: String,
    /// `complete` or `incomplete`.
    pub outcome: String,
}

/// `sink` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    /// Sink name.
    pub sink: String,
}

/// `sink` and `outcome` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkOutcome {
    /// Sink name.
    pub sink: String,
    /// `delivered`, `retrying` or `dead_lettered`.
    pub outcome: String,
}

/// `reminder` and `step` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReminderStep {
    /// The reminder's name.
    pub reminder: String,
    /// The step, 1-based as in the event (`"1"`, `"2"`, ...).
    pub step: String,
}

/// A single string label (`status`, `type`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// HTTP status code, or `error` when there was no answer.
    pub status: String,
}

/// `reason` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Why, e.g. `too_large` or `malformed`.
    pub reason: String,
}

/// `type` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    /// Event type.
    pub r#type: String,
}

/// `version` label of `build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabel {
    /// The crate version.
    pub version: String,
}
