use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, Result};

/// The request a worker answers: what wws sends on stdin, decoded.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    params: BTreeMap<String, String>,
}

impl Request {
    /// Decode the wws protocol's request message.
    pub fn from_json(message: &[u8]) -> Result<Request> {
        let message: Value = serde_json::from_slice(message)?;
        let text = |name: &str| message[name].as_str().unwrap_or_default().to_string();
        let pairs = |name: &str| -> Vec<(String, String)> {
            message[name]
                .as_object()
                .map(|map| map.iter().map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().into())).collect())
                .unwrap_or_default()
        };
        let body = text("body");
        let body = if message["body_base64"] == Value::Bool(true) { base64::decode(body)? } else { body.into_bytes() };
        Ok(Request {
            method: text("method"),
            url: text("url"),
            headers: pairs("headers").into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect(),
            body,
            params: pairs("params").into_iter().collect(),
        })
    }

    /// `GET`, `POST`, …
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The whole URL, as the client asked for it: `http://host/path?query`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL's path, without the query: `/api/users/7`.
    pub fn path(&self) -> &str {
        let after_scheme = self.url.find("://").map_or(0, |at| at + 3);
        let rest = &self.url[after_scheme..];
        let path = rest.find('/').map_or("/", |at| &rest[at..]);
        path.split(|c| c == '?' || c == '#').next().unwrap_or("/")
    }

    /// The URL's query string, without `?`, if it has one.
    pub fn query(&self) -> Option<&str> {
        let query = self.url.split('#').next()?.split_once('?')?.1;
        Some(query)
    }

    /// The first value of a query parameter, decoded (`+` and `%XX`).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query()?.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key) == name).then(|| decode_component(value))
        })
    }

    /// A header's value (names are case-insensitive; repeated headers arrive joined with ", ").
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every header, names in lower case.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|_| Error::msg("the request body is not UTF-8 text"))
    }

    /// The body parsed as JSON, into any type serde can deserialize (`serde_json::Value` for any JSON).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|error| Error::msg(format!("the request body is not valid JSON: {error}")))
    }

    /// A parameter of the route: `id` for `[id].wasm`, `slug` ("a/b/c") for `[...slug].wasm`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }
}

/// The first value of header `name` in `headers` (names stored in lower case).
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    headers.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
}

/// Percent-decoding of a query component (`+` is a space); invalid escapes are kept as they are.
fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped = if byte == b'%' { bytes.get(index + 1..index + 3) } else { None };
        match escaped.and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()) {
            Some(value) => {
                decoded.push(value);
                index += 3;
            }
            None => {
                decoded.push(if byte == b'+' { b' ' } else { byte });
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
