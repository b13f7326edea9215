//! rust/hello.wasm: a query parameter and a [vars] value (rust/hello.toml) in a text answer.
use wws::{Request, Response, Result};

fn handle(request: Request) -> Result<Response> {
    let name = request.query_param("name").unwrap_or_else(|| "world".into());
    let greeting = wws::var("GREETING").unwrap_or_else(|| "Hello".into());
    Ok(Response::text(format!("{greeting}, {name}! (Rust)")))
}

fn main() {
    wws::serve(handle)
}
