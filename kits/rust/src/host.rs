//! The `wws` imports: a JSON message in, a JSON answer out (see the README's "Native WebAssembly workers").

use serde_json::Value;

use crate::{Error, Result};

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "wws")]
extern "C" {
    fn host_call(message: *const u8, length: i32) -> i32;
    fn host_result(buffer: *mut u8, length: i32) -> i32;
}

#[cfg(target_arch = "wasm32")]
fn exchange(message: &[u8]) -> Result<Vec<u8>> {
    let length = i32::try_from(message.len()).map_err(|_| Error::msg("host call message too large"))?;
    // Safety: both pointers and lengths describe buffers this function owns; wws checks them against memory.
    let size = unsafe { host_call(message.as_ptr(), length) };
    if size < 0 {
        return Err(Error::msg("the host refused the call"));
    }
    let mut answer = vec![0u8; size as usize];
    let copied = unsafe { host_result(answer.as_mut_ptr(), size) };
    if copied != size {
        return Err(Error::msg("the host's answer could not be read"));
    }
    Ok(answer)
}

#[cfg(not(target_arch = "wasm32"))]
fn exchange(_message: &[u8]) -> Result<Vec<u8>> {
    Err(Error::msg("host calls need wws: build for wasm32-wasi and run the worker with `wws serve`"))
}

/// Send `{"op": op, ...arguments}` and return the answer's value, or its error.
pub(crate) fn call(op: &str, arguments: Value) -> Result<Value> {
    let mut message = match arguments {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    message.insert("op".into(), Value::from(op));
    let answer: Value = serde_json::from_slice(&exchange(&serde_json::to_vec(&message)?)?)?;
    if answer["ok"] == Value::Bool(true) {
        return Ok(answer["value"].clone());
    }
    let error = answer["error"].as_str().unwrap_or("the host call failed");
    Err(Error::msg(format!("{op}: {error}")))
}
