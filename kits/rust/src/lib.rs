//! Write wws workers in Rust.
//!
//! A worker is a function from a [`Request`] to a [`Response`]; [`serve`] runs it under `wws serve`, speaking the
//! wws JSON protocol on stdin and stdout. The host API (KV, outbound HTTP, logs, config) goes through wws's `wws`
//! imports, so the worker's config decides what it may do: `[data.kv]`, `[features.http_requests]` and `[vars]`.
//!
//! ```no_run
//! use wws::{Request, Response, Result};
//!
//! fn handle(request: Request) -> Result<Response> {
//!     let name = request.query_param("name").unwrap_or_else(|| "world".into());
//!     Ok(Response::text(format!("Hello, {name}!")))
//! }
//!
//! fn main() {
//!     wws::serve(handle)
//! }
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasi` and put the `.wasm` file where its route should be.
//! A handler that returns an error, or panics, answers 500; the operator's log shows the message.

mod error;
pub mod fetch;
mod host;
pub mod kv;
pub mod log;
mod request;
mod response;
mod serve;

pub use error::{Error, Result};
pub use fetch::{fetch, FetchRequest, FetchResponse};
pub use request::Request;
pub use response::{Response, ResponseBuilder};
pub use serve::serve;

/// A variable of the worker's `[vars]` (they are also its only environment variables, in `std::env`).
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Make a worker that wws can keep warm (`isolation = "instance"` in its config): exports `wws_handle`, which wws
/// calls once per request on the same instance. The crate must be a `cdylib` (`[lib] crate-type = ["cdylib"]`).
#[macro_export]
macro_rules! reactor {
    ($handler:path) => {
        #[no_mangle]
        pub extern "C" fn wws_handle() {
            $crate::serve($handler)
        }
    };
}
