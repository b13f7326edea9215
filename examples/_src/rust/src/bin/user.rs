//! rust/users/[id].wasm: a route parameter, answered as JSON (404 when it is not a number).
use serde_json::json;
use wws::{Request, Response, Result};

fn handle(request: Request) -> Result<Response> {
    let id = request.param("id").unwrap_or_default();
    match id.parse::<u64>() {
        Ok(number) => Response::json(&json!({ "id": id, "name": format!("user {id}"), "even": number % 2 == 0 })),
        Err(_) => Response::builder().status(404).json(&json!({ "error": format!("no user {id}") })),
    }
}

fn main() {
    wws::serve(handle)
}
