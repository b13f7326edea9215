//! The worker's KV namespace (`[data.kv] namespace = "…"` in its config). Writes are applied at once.

use serde_json::{json, Value};

use crate::{host, Error, Result};

/// The value of `key`, or `None` when it is not set.
pub fn get(key: &str) -> Result<Option<String>> {
    match host::call("kv.get", json!({ "key": key }))? {
        Value::String(value) => Ok(Some(value)),
        _ => Ok(None),
    }
}

pub fn put(key: &str, value: &str) -> Result<()> {
    host::call("kv.put", json!({ "key": key, "value": value })).map(drop)
}

pub fn delete(key: &str) -> Result<()> {
    host::call("kv.delete", json!({ "key": key })).map(drop)
}

/// The keys starting with `prefix`, sorted.
pub fn list(prefix: &str) -> Result<Vec<String>> {
    serde_json::from_value(host::call("kv.list", json!({ "prefix": prefix }))?).map_err(Error::from)
}
