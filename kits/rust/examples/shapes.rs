//! Response shapes: a status with headers (two set-cookies), a binary body, log lines, errors and panics.
use wws::{log, Error, Request, Response, Result};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn handle(request: Request) -> Result<Response> {
    match request.path() {
        "/shapes/created" => Ok(Response::builder()
            .status(201)
            .header("Location", "/items/7")
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .text("created")),
        "/shapes/binary" => {
            let mut body = PNG_SIGNATURE.to_vec();
            body.extend([0, 255, 128]);
            Ok(Response::builder().header("content-type", "image/png").bytes(body))
        }
        "/shapes/log" => {
            log::warn("a warning from Rust");
            eprintln!("a line on stderr");
            Ok(Response::text("logged"))
        }
        "/shapes/error" => Err(Error::msg("the handler gave up")),
        "/shapes/panic" => panic!("the handler panicked"),
        other => Ok(Response::builder().status(404).text(format!("no shape at {other}"))),
    }
}

fn main() {
    wws::serve(handle)
}
