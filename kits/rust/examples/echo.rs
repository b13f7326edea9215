//! Everything the request carries, answered as JSON: method, URL, path, query, a header, params and the body.
use serde_json::{json, Value};
use wws::{Request, Response, Result};

fn handle(request: Request) -> Result<Response> {
    let body: Value = match request.header("content-type") {
        Some("application/json") => request.json()?,
        _ => match request.text() {
            Ok(text) => json!(text),
            Err(_) => json!({ "bytes": request.body().len() }),
        },
    };
    Response::json(&json!({
        "method": request.method(),
        "url": request.url(),
        "path": request.path(),
        "query": request.query(),
        "q": request.query_param("q"),
        "agent": request.header("X-Agent"),
        "params": request.params(),
        "body": body,
        "var": wws::var("GREETING"),
    }))
}

fn main() {
    wws::serve(handle)
}
