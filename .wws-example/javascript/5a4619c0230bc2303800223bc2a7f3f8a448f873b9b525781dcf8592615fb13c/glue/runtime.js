// The entry of the JavaScript glue: installs the Workers globals, finds the worker's fetch handler (module or
// service-worker style), and turns each request from the host into a call to it. See engine.c for the caller.
import { Cache, KVNamespace, flushCache, resetCache } from "./bindings.js";
import { FormData } from "./body.js";
import { structuredClone } from "./clone.js";
import { console } from "./console.js";
import { CryptoKey, crypto } from "./crypto.js";
import { TextDecoder, TextEncoder } from "./encoding.js";
import { Request, Response, fetch } from "./fetch_api.js";
import { Headers } from "./headers.js";
import { clearInterval, clearTimeout, clearTimers, runTimers, setInterval, setTimeout } from "./timers.js";
import {
  ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableStream, ReadableStreamDefaultReader, TextDecoderStream,
  TextEncoderStream, TransformStream, WritableStream,
} from "./streams.js";
import { unsupported } from "./unsupported.js";
import { URL, URLSearchParams } from "./url.js";

export { runTimers };

const listeners = [];

class FetchEvent {
  #request;
  #response = null;
  #waits;
  constructor(request, waits) {
    this.#request = request;
    this.#waits = waits;
  }
  get type() {
    return "fetch";
  }
  get request() {
    return this.#request;
  }
  respondWith(response) {
    if (this.#response) throw new DOMException("respondWith() was already called", "InvalidStateError");
    this.#response = Promise.resolve(response);
  }
  waitUntil(promise) {
    this.#waits.push(promise);
  }
  passThroughOnException() {}
  _response() {
    return this.#response;
  }
}

function addEventListener(type, listener) {
  if (type === "fetch" && typeof listener === "function") listeners.push(listener);
}

Object.assign(globalThis, {
  Cache, FormData, Headers, Request, Response, TextDecoder, TextEncoder, URL, URLSearchParams, addEventListener,
  clearInterval, clearTimeout, console, CryptoKey, crypto, fetch, setInterval, setTimeout, structuredClone,
  ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableStream, ReadableStreamDefaultReader, TextDecoderStream,
  TextEncoderStream, TransformStream, WritableStream, ...unsupported,
});
globalThis.self = globalThis;
globalThis.navigator = { userAgent: "wws" };

let moduleHandler = null;

// Called once, after the worker's module ran (before the snapshot): find its handler (a pipeline step may have
// only `step`).
export function install(namespace) {
  const entry = namespace.default;
  if (entry && (typeof entry.fetch === "function" || typeof entry.step === "function")) {
    moduleHandler = entry;
  } else if (listeners.length === 0) {
    throw new TypeError(
      "the worker has no fetch handler: write `export default { async fetch(request, env, ctx) { … } }` " +
        "or `addEventListener(\"fetch\", (event) => event.respondWith(…))` (or, for a pipeline step, " +
        "`export default { async step(state, env) { … } }`)",
    );
  }
}

function describe(value) {
  return value === null ? "null" : typeof value === "object" ? value.constructor?.name ?? "an object" : typeof value;
}

async function respond(request, env, waits) {
  if (moduleHandler && typeof moduleHandler.fetch !== "function") {
    throw new TypeError("the worker has no fetch handler, only a pipeline step: it cannot answer HTTP requests");
  }
  if (moduleHandler) {
    const ctx = { waitUntil: (promise) => void waits.push(promise), passThroughOnException() {} };
    return moduleHandler.fetch(request, env, ctx);
  }
  Object.assign(globalThis, env);
  const event = new FetchEvent(request, waits);
  for (const listener of listeners) {
    listener(event);
    if (event._response()) return event._response();
  }
  throw new Error("no fetch listener called event.respondWith()");
}

// One pipeline step: its state in (`{data, errors, config}`), the new state out as JSON (the host checks it).
async function runStep(state, env) {
  if (typeof moduleHandler?.step !== "function") {
    throw new TypeError("the worker has no step handler: write `export default { async step(state, env) { … } }`");
  }
  const result = await moduleHandler.step(state, env);
  const text = JSON.stringify(result === undefined ? null : result);
  if (text === undefined) throw new TypeError(`the step returned ${describe(result)}, which JSON cannot hold`);
  return text;
}

// One request: the host's JSON in, the response JSON out (the wws protocol, see wws/runtimes/wws_protocol.py).
export async function handle(json) {
  const message = JSON.parse(json);
  clearTimers();
  resetCache(Boolean(message.kv_binding));
  const env = { ...(message.env || {}) };
  if (message.kv_binding) env[message.kv_binding] = new KVNamespace();
  if (message.step !== undefined) {
    const state = await runStep(message.step, env);
    flushCache();
    return state;
  }
  const waits = [];
  const response = await respond(Request._fromWire(message), env, waits);
  if (!(response instanceof Response)) {
    throw new TypeError(`the fetch handler must return a Response, not ${describe(response)}`);
  }
  if (response.type === "error") throw new TypeError("the fetch handler returned Response.error()");
  let body = response._wireBody();
  if (waits.length || body instanceof Promise) {
    // A stream body is read while waitUntil() work runs: that work may be what writes it.
    const [wire, settled] = await Promise.all([body, Promise.allSettled(waits)]);
    for (const result of settled) {
      if (result.status === "rejected") console.error("waitUntil() promise rejected:", result.reason);
    }
    body = wire;
  }
  flushCache();
  return JSON.stringify({
    status: response.status,
    headers: Headers.toWire(response.headers),
    data: body.data,
    base64: body.base64,
  });
}
