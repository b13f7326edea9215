use std::io::{Read, Write};

use crate::{Request, Response, Result};

/// Answer the request on stdin with `handler`, on stdout: the whole `main` of a worker.
///
/// An error from the handler is written to stderr and ends the run with exit code 1: wws answers 500 and logs the
/// message with the worker's name. A panic does the same through a trap. [`reactor!`](crate::reactor) calls it
/// once per request on a warm instance.
pub fn serve(handler: fn(Request) -> Result<Response>) {
    let result = read_request().and_then(handler).map(|response| response.to_json());
    let written = result.and_then(|output| {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&output)?;
        stdout.flush()?;
        Ok(())
    });
    if let Err(error) = written {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn read_request() -> Result<Request> {
    let mut message = Vec::new();
    std::io::stdin().read_to_end(&mut message)?;
    Request::from_json(&message)
}
