//! KV through the host, served as `kv/[key].wasm`: `PUT /kv/NAME` stores the body, `GET` reads it (404 when
//! unset), `DELETE` removes it; `GET /kv/any?prefix=P` lists the keys starting with P. Needs
//! `[data.kv] namespace = "…"` in the worker's config.
use wws::{kv, Request, Response, Result};

fn handle(request: Request) -> Result<Response> {
    if let Some(prefix) = request.query_param("prefix") {
        return Response::json(&kv::list(&prefix)?);
    }
    let key = request.param("key").unwrap_or_default();
    match request.method() {
        "PUT" => {
            kv::put(key, request.text()?)?;
            Ok(Response::builder().status(201).text("stored"))
        }
        "DELETE" => {
            kv::delete(key)?;
            Ok(Response::builder().status(204).empty())
        }
        _ => Ok(match kv::get(key)? {
            Some(value) => Response::text(value),
            None => Response::builder().status(404).text(format!("no key {key}")),
        }),
    }
}

fn main() {
    wws::serve(handle)
}
