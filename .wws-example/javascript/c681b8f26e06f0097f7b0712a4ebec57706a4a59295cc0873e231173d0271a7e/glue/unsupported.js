// Cloudflare APIs that wws does not offer. Each exists, so a handler that names one loads, and fails when it uses it
// with an error that names the API and says what to do instead, never "X is not defined" or "undefined is not a
// function".

function refusal(api, instead) {
  return new TypeError(`${api} is not supported by wws${instead ? `: ${instead}` : ""}`);
}

class HTMLRewriter {
  constructor() {
    throw refusal("HTMLRewriter", "it needs Cloudflare's streaming HTML parser; rewrite the text of the response instead");
  }
}

class WebSocketPair {
  constructor() {
    throw refusal("WebSocketPair (WebSockets)", "wws answers each request with one whole response");
  }
}

const caches = {
  get default() {
    throw refusal("The Cache API (caches.default)", "keep cached values in a KV namespace ([data.kv] in the worker's config)");
  },
  open() {
    throw refusal("The Cache API (caches.open)", "keep cached values in a KV namespace ([data.kv] in the worker's config)");
  },
};

export const unsupported = { HTMLRewriter, WebSocketPair, caches };
