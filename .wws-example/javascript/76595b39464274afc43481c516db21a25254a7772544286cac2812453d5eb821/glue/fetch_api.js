// Request, Response and fetch(), as in Cloudflare Workers. fetch() is carried out by the host, which applies the
// worker's allow-list ([features.http_requests]), its timeouts and size caps.
import { BodyHolder, StringLikeBody, extractBody, sourceFromWire } from "./body.js";
import { Headers, freezeHeaders, headerPairs } from "./headers.js";
import { host } from "./natives.js";
import { URL } from "./url.js";

const STANDARD_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const FROM_WIRE = Symbol("from the host");

function normalizeMethod(method) {
  const text = String(method);
  if (!TOKEN.test(text)) throw new TypeError(`Invalid HTTP method: "${text}"`);
  const upper = text.toUpperCase();
  return STANDARD_METHODS.includes(upper) ? upper : text;
}

export class Request extends BodyHolder {
  #method;
  #url;
  #headers;
  #wireHeaders = null; // the host's headers, made a Headers when first read (a hello never reads them)
  #redirect;
  #params;
  #cf;
  #incoming = false;

  constructor(input, init = {}) {
    super();
    if (input === FROM_WIRE) {
      this.#incoming = true;
      this.#url = init.url;
      this.#method = init.method;
      this.#wireHeaders = init.headers || {};
      this.#redirect = "follow";
      this.#params = Object.freeze(init.params || {}); // fresh from the host's JSON: nobody else holds them
      this.#cf = Object.freeze(init.cf || {});
      this._initBody(sourceFromWire(init.body || "", init.body_base64));
      return;
    }
    init = init ?? {};
    const from = input instanceof Request ? input : null;
    this.#url = from ? from.#url : new URL(String(input)).href;
    this.#method = init.method !== undefined ? normalizeMethod(init.method) : from ? from.#method : "GET";
    this.#headers = new Headers(init.headers !== undefined ? init.headers : from ? from.headers : undefined);
    this.#redirect = init.redirect ?? (from ? from.#redirect : "follow");
    this.#params = from ? from.#params : {};
    this.#cf = init.cf ?? (from ? from.#cf : undefined);
    let source = null;
    if (init.body !== undefined && init.body !== null) {
      const extracted = extractBody(init.body);
      source = extracted.source;
      if (extracted.type && !this.#headers.has("content-type")) this.#headers.set("content-type", extracted.type);
    } else if (from && init.body === undefined) {
      source = from._takeSource();
    }
    if (source && (this.#method === "GET" || this.#method === "HEAD")) {
      throw new TypeError("Request with a GET or HEAD method cannot have a body.");
    }
    this._initBody(source);
  }

  // The request the host sent: already validated, so built without re-parsing its URL or headers.
  static _fromWire(message) {
    return new Request(FROM_WIRE, message);
  }

  get method() {
    return this.#method;
  }
  get url() {
    return this.#url;
  }
  get headers() {
    if (this.#wireHeaders) {
      this.#headers = Headers._fromWire(this.#wireHeaders);
      this.#wireHeaders = null;
    }
    return this.#headers;
  }
  get redirect() {
    return this.#redirect;
  }
  // The route's parameters (`[id]`, `[...slug]`), as in the original Wasm Workers Server.
  get params() {
    return this.#params;
  }
  // The request the worker received reads its body as a string too (see StringLikeBody).
  _newBodyStream(source) {
    return this.#incoming ? new StringLikeBody(this, source) : super._newBodyStream(source);
  }
  // Cloudflare's request properties: here only what this server knows (httpProtocol, clientAddress); the edge's
  // fields (country, colo, asn, …) are undefined. Undefined on a Request the worker built without `cf`.
  get cf() {
    return this.#cf;
  }
  get signal() {
    return undefined;
  }
  clone() {
    const copy = new Request(this.#url, { method: this.#method, headers: this.headers, redirect: this.#redirect });
    copy._initBody(this._cloneSource());
    copy.#params = this.#params;
    return copy;
  }
  get [Symbol.toStringTag]() {
    return "Request";
  }
}

export class Response extends BodyHolder {
  #status;
  #statusText;
  #headers;
  #url = "";
  #redirected = false;
  #type = "default";

  constructor(body = null, init = {}) {
    super();
    init = init ?? {};
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Responses may only be constructed with status codes in the range 200 to 599, inclusive.`);
    }
    this.#status = status;
    this.#statusText = init.statusText === undefined ? "" : String(init.statusText);
    this.#headers = new Headers(init.headers);
    const { source, type } = extractBody(body);
    if (source && NULL_BODY_STATUS.has(status)) {
      throw new TypeError(`Response with null body status (${status}) cannot have a body.`);
    }
    if (type) {
      // Without headers of its own (a hello's case), the body's type is set without checking either.
      if (init.headers === undefined) Headers._put(this.#headers, "content-type", type);
      else if (!this.#headers.has("content-type")) this.#headers.set("content-type", type);
    }
    this._initBody(source);
  }

  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Response.json: the value cannot be serialised to JSON");
    const response = new Response(text, init);
    if (!init?.headers || !new Headers(init.headers).has("content-type")) {
      response.#headers.set("content-type", "application/json");
    }
    return response;
  }

  static redirect(url, status = 302) {
    if (!REDIRECT_STATUS.has(status)) throw new RangeError(`Invalid status code: ${status}`);
    const response = new Response(null, { status, headers: { location: new URL(String(url)).href } });
    freezeHeaders(response.#headers);
    return response;
  }

  static error() {
    const response = new Response(null, { status: 200 });
    response.#status = 0;
    response.#type = "error";
    return response;
  }

  static _fromFetch(answer, requestUrl) {
    const response = new Response(null, { status: answer.status, headers: answer.headers });
    response._initBody(sourceFromWire(answer.body || "", answer.body_base64));
    response.#url = answer.url;
    response.#redirected = answer.url !== requestUrl;
    freezeHeaders(response.#headers);
    return response;
  }

  get status() {
    return this.#status;
  }
  get statusText() {
    return this.#statusText;
  }
  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }
  get headers() {
    return this.#headers;
  }
  get url() {
    return this.#url;
  }
  get redirected() {
    return this.#redirected;
  }
  get type() {
    return this.#type;
  }
  get webSocket() {
    return null;
  }
  clone() {
    const copy = new Response(null, { status: this.#status === 0 ? 200 : this.#status, statusText: this.#statusText, headers: this.#headers });
    copy._initBody(this._cloneSource());
    copy.#status = this.#status;
    copy.#url = this.#url;
    copy.#redirected = this.#redirected;
    copy.#type = this.#type;
    return copy;
  }
  get [Symbol.toStringTag]() {
    return "Response";
  }
}

export async function fetch(input, init = undefined) {
  const request = new Request(input, init);
  const wire = await request._wireBody();
  let answer;
  try {
    answer = host("http.fetch", {
      url: request.url,
      method: request.method,
      headers: headerPairs(request.headers),
      body: wire.data,
      body_base64: wire.base64,
    });
  } catch (error) {
    throw new TypeError(`fetch failed: ${error.message}`);
  }
  return Response._fromFetch(answer, request.url);
}
