//! The XenAPI side: a read-only XML-RPC client for live XAPI endpoints.

use crate::config::LiveOptions;
use crate::inventory::Entry;
use crate::model::Snapshot;
use std::sync::atomic::AtomicBool;

#[derive(Debug, thiserror::Error)]
pub enum XapiError {
    #[error("{host}: {message}")]
    Other { host: String, message: String },
}

pub fn fetch_snapshot(
    entry: &Entry,
    _live: &LiveOptions,
    _cancel: &AtomicBool,
) -> Result<Snapshot, XapiError> {
    Err(XapiError::Other {
        host: entry.name.clone(),
        message: "live scanning is not built yet".into(),
    })
}
