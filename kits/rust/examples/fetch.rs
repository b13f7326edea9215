//! Outbound HTTP through the host: fetches `?url=…` (only what `[features.http_requests]` allows) and reports it.
//! A refused request is an error the worker answers itself, with 502.
use serde_json::json;
use wws::{fetch, FetchRequest, Request, Response, Result};

fn handle(request: Request) -> Result<Response> {
    let url = request.query_param("url").unwrap_or_default();
    let outbound = FetchRequest::post(&url).header("x-from", "rust").body(request.body().to_vec());
    match fetch(outbound) {
        Ok(answer) => Response::json(&json!({
            "status": answer.status,
            "type": answer.header("content-type"),
            "body": answer.text()?,
        })),
        Err(error) => Ok(Response::builder().status(502).text(error.to_string())),
    }
}

fn main() {
    wws::serve(handle)
}
