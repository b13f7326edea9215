//! rust/counter.wasm: state that outlives a request, in the KV namespace of rust/counter.toml.
use serde_json::json;
use wws::{kv, Request, Response, Result};

fn handle(_request: Request) -> Result<Response> {
    let visits = kv::get("rust-visits")?.and_then(|value| value.parse::<u64>().ok()).unwrap_or(0) + 1;
    kv::put("rust-visits", &visits.to_string())?;
    Response::json(&json!({ "visits": visits }))
}

fn main() {
    wws::serve(handle)
}
