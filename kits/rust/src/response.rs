use serde::Serialize;
use serde_json::{Map, Value};

use crate::Result;

/// What a worker answers.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response to build: `Response::builder().status(201).header("location", "/items/7").text("created")`.
    pub fn builder() -> ResponseBuilder {
        ResponseBuilder { status: 200, headers: Vec::new() }
    }

    /// 200 with a text body (`text/plain; charset=utf-8`).
    pub fn text(body: impl Into<String>) -> Response {
        Response::builder().text(body)
    }

    /// 200 with a JSON body (`application/json`), from anything serde can serialize (or `serde_json::json!`).
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Response> {
        Response::builder().json(value)
    }

    /// 200 with a binary body (`application/octet-stream` unless a content-type is set).
    pub fn bytes(body: impl Into<Vec<u8>>) -> Response {
        Response::builder().bytes(body)
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The response in the wws protocol: `{"status", "headers", "data", "base64"}`. Repeated headers become a list.
    pub fn to_json(&self) -> Vec<u8> {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            match headers.get_mut(name) {
                Some(Value::Array(values)) => values.push(value.clone().into()),
                Some(first) => *first = Value::Array(vec![first.clone(), value.clone().into()]),
                None => {
                    headers.insert(name.clone(), value.clone().into());
                }
            }
        }
        let (data, base64) = match std::str::from_utf8(&self.body) {
            Ok(text) => (text.to_string(), false),
            Err(_) => (base64::encode(&self.body), true),
        };
        let message = serde_json::json!({ "status": self.status, "headers": headers, "data": data, "base64": base64 });
        serde_json::to_vec(&message).unwrap_or_default()
    }
}

/// Status and headers first, then a body ends the building.
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: u16,
    headers: Vec<(String, String)>,
}

impl ResponseBuilder {
    /// The status code (wws accepts 200 to 599).
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Add a header; adding a name twice sends it twice (several `set-cookie`s).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn text(self, body: impl Into<String>) -> Response {
        self.body_with_type(body.into().into_bytes(), "text/plain; charset=utf-8")
    }

    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Response> {
        Ok(self.body_with_type(serde_json::to_vec(value)?, "application/json"))
    }

    pub fn bytes(self, body: impl Into<Vec<u8>>) -> Response {
        self.body_with_type(body.into(), "application/octet-stream")
    }

    /// A response with no body.
    pub fn empty(self) -> Response {
        Response { status: self.status, headers: self.headers, body: Vec::new() }
    }

    fn body_with_type(mut self, body: Vec<u8>, content_type: &str) -> Response {
        if !self.headers.iter().any(|(name, _)| name == "content-type") {
            self.headers.push(("content-type".into(), content_type.into()));
        }
        Response { status: self.status, headers: self.headers, body }
    }
}
