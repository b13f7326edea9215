//! Outbound HTTP, sent by the host: only to the hosts and with the methods the worker's
//! `[features.http_requests]` allows. A refusal is an `Err` the worker can answer as it sees fit.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::request::find_header;
use crate::{host, Error, Result};

/// A request to send with [`fetch`].
#[derive(Debug, Clone)]
pub struct FetchRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl FetchRequest {
    pub fn new(method: &str, url: &str) -> Self {
        FetchRequest { method: method.to_ascii_uppercase(), url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    pub fn get(url: &str) -> Self {
        FetchRequest::new("GET", url)
    }

    pub fn post(url: &str) -> Self {
        FetchRequest::new("POST", url)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// The answer to a [`FetchRequest`]: redirects are followed, the body is whole and decompressed.
#[derive(Debug, Clone)]
pub struct FetchResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL of the last hop, after redirects.
    pub url: String,
}

impl FetchResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|_| Error::msg("the response body is not UTF-8 text"))
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(Error::from)
    }
}

/// Send `request` through the host and wait for the whole answer.
pub fn fetch(request: FetchRequest) -> Result<FetchResponse> {
    let (body, body_base64) = match String::from_utf8(request.body) {
        Ok(text) => (text, false),
        Err(error) => (base64::encode(error.as_bytes()), true),
    };
    let answer = host::call(
        "http.fetch",
        json!({
            "url": request.url, "method": request.method, "headers": request.headers,
            "body": body, "body_base64": body_base64,
        }),
    )?;
    let text = |name: &str| answer[name].as_str().unwrap_or_default().to_string();
    let headers = match &answer["headers"] {
        Value::Array(pairs) => pairs
            .iter()
            .filter_map(|pair| Some((pair[0].as_str()?.to_string(), pair[1].as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let body = text("body");
    Ok(FetchResponse {
        status: answer["status"].as_u64().unwrap_or_default() as u16,
        headers,
        body: if answer["body_base64"] == Value::Bool(true) { base64::decode(body)? } else { body.into_bytes() },
        url: text("url"),
    })
}
