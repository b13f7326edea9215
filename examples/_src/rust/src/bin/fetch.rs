//! rust/fetch.wasm: outbound HTTP, sent by the host only because rust/fetch.toml allows that host.
use serde_json::json;
use wws::{fetch, FetchRequest, Request, Response, Result};

fn handle(_request: Request) -> Result<Response> {
    let origin = wws::var("ORIGIN").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let answer = fetch(FetchRequest::get(&format!("{origin}/rust/hello?name=fetch")))?;
    Response::json(&json!({ "status": answer.status, "body": answer.text()? }))
}

fn main() {
    wws::serve(handle)
}
