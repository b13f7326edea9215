//! A reactor wws can keep warm (`isolation = "instance"`): the counter lives as long as the instance.
use std::sync::atomic::{AtomicU32, Ordering};
use wws::{Request, Response, Result};

static REQUESTS: AtomicU32 = AtomicU32::new(0);

fn handle(_request: Request) -> Result<Response> {
    let count = REQUESTS.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(Response::text(count.to_string()))
}

wws::reactor!(handle);
