//! The smallest worker: `GET /hello?name=you` → `Hello, you!`.
use wws::{Request, Response, Result};

fn handle(request: Request) -> Result<Response> {
    let name = request.query_param("name").unwrap_or_else(|| "world".into());
    Ok(Response::text(format!("Hello, {name}!")))
}

fn main() {
    wws::serve(handle)
}
