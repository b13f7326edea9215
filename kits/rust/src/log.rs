//! The worker's log: lines go to the operator's log, with the worker's name and the request id.
//!
//! What a worker writes to stderr (`eprintln!`) goes there too, at the info level.

use serde_json::json;

use crate::host;

fn write(level: &str, message: &str) {
    // A log line that cannot be sent is not worth failing the request for: say so on stderr instead.
    if let Err(error) = host::call("log", json!({ "level": level, "message": message })) {
        eprintln!("{message} ({error})");
    }
}

pub fn debug(message: &str) {
    write("debug", message)
}

pub fn info(message: &str) {
    write("info", message)
}

pub fn warn(message: &str) {
    write("warn", message)
}

pub fn error(message: &str) {
    write("error", message)
}
