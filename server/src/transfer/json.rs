//! Typed reads of untyped JSON for the importers: a value read as a
//! struct, with an error that names the field at fault.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// `value` read as `T`; an error names the field (after `prefix`).
pub(super) fn typed_at<T: DeserializeOwned>(prefix: &str, value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let at = match (prefix.is_empty(), path == ".") {
            (true, true) => String::new(),
            (true, false) => format!("{path}: "),
            (false, true) => format!("{prefix}: "),
            (false, false) => format!("{prefix}.{path}: "),
        };
        format!("{at}{}", error.inner())
    })
}
