// The body of a Request or Response: kept as the string, bytes or stream it was given (no needless conversions),
// read once.
import { base64ToBytes, bytesToBase64, decoder, encoder, toUint8Array } from "./encoding.js";
import { ReadableStream, readAllBytes } from "./streams.js";
import { URLSearchParams } from "./url.js";

// What a body init becomes: { text }, { bytes } or { stream }, plus the content type it implies.
export function extractBody(init) {
  if (init == null) return { source: null, type: null };
  if (typeof init === "string") return { source: { text: init }, type: "text/plain;charset=UTF-8" };
  if (init instanceof ArrayBuffer || ArrayBuffer.isView(init)) return { source: { bytes: toUint8Array(init).slice() }, type: null };
  if (init instanceof URLSearchParams) {
    return { source: { text: init.toString() }, type: "application/x-www-form-urlencoded;charset=UTF-8" };
  }
  if (init instanceof FormData) {
    const boundary = "----wwsformdata" + Math.random().toString(16).slice(2);
    return { source: { text: FormData._multipart(init, boundary) }, type: `multipart/form-data; boundary=${boundary}` };
  }
  if (init instanceof BodyStream && !init.locked && !init._disturbed) {
    // Another body's own stream, unread: take that body's source as it is (nothing to drain).
    return { source: init._holder()._takeSource(), type: null };
  }
  if (init instanceof ReadableStream) {
    if (init.locked || init._disturbed) throw new TypeError("a body's ReadableStream must be unlocked and unread");
    return { source: { stream: init }, type: null };
  }
  if (init instanceof BodyHolder) return { source: init._takeSource(), type: init.headers.get("content-type") };
  return { source: { text: String(init) }, type: "text/plain;charset=UTF-8" };
}

export function sourceFromWire(text, base64) {
  if (base64) return { bytes: base64ToBytes(text) };
  return text === "" ? null : { text };
}

function wireOf(source) {
  return "text" in source ? { data: source.text, base64: false } : { data: bytesToBase64(source.bytes), base64: true };
}

// The base of Request and Response: body, text/json/arrayBuffer/bytes/formData, each usable once.
export class BodyHolder {
  #source = null;
  #used = false;
  #stream = null;

  _initBody(source) {
    this.#source = source;
    this.#stream = source && "stream" in source ? source.stream : null;
  }

  _takeSource() {
    this.#checkUnused();
    const source = this.#source;
    if (source) this.#used = true;
    return source;
  }

  #checkUnused() {
    if (this.bodyUsed) throw new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
  }

  get bodyUsed() {
    return this.#used || Boolean(this.#stream?._disturbed);
  }

  // The same ReadableStream at every access (null without a body); reading it uses the body.
  get body() {
    if (!this.#source) return null;
    this.#stream ??= this._newBodyStream(this.#source);
    return this.#stream;
  }

  _newBodyStream(_source) {
    return new BodyStream(this);
  }

  async #readSource() {
    const source = this._takeSource();
    if (!source) return null;
    if ("stream" in source) return { bytes: await readAllBytes(source.stream) };
    return source;
  }

  async text() {
    const source = await this.#readSource();
    if (!source) return "";
    return "text" in source ? source.text : decoder.decode(source.bytes);
  }

  async json() {
    return JSON.parse(await this.text());
  }

  async bytes() {
    const source = await this.#readSource();
    if (!source) return new Uint8Array(0);
    return "text" in source ? encoder.encode(source.text) : source.bytes.slice();
  }

  async arrayBuffer() {
    return (await this.bytes()).buffer;
  }

  async formData() {
    const type = (this.headers.get("content-type") || "").toLowerCase();
    if (type.startsWith("application/x-www-form-urlencoded")) {
      const form = new FormData();
      for (const [name, value] of new URLSearchParams(await this.text())) form.append(name, value);
      return form;
    }
    if (type.startsWith("multipart/form-data")) {
      const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(type);
      if (!boundary) throw new TypeError("multipart/form-data without a boundary");
      return FormData._parseMultipart(await this.text(), boundary[1] || boundary[2]);
    }
    throw new TypeError(`Can't read the body as FormData: its content type is "${type}"`);
  }

  // For the body's own stream (see BodyStream): its bytes, once.
  _bytesForStream() {
    if (this.#used) throw new TypeError("Body has already been used. It can only be used once.");
    this.#used = true;
    const source = this.#source;
    return "text" in source ? encoder.encode(source.text) : source.bytes;
  }

  // For the wire (host JSON): a string body as text, bytes as base64; a stream is read to its end first, so for it
  // the answer is a promise (the others answer at once: the path of almost every response).
  _wireBody() {
    const source = this.#source;
    if (!source) return { data: "", base64: false };
    this.#used = true;
    if ("stream" in source) return readAllBytes(source.stream).then((bytes) => wireOf({ bytes }));
    return wireOf(source);
  }

  // A copy of the body for clone(): a stream is teed (this body keeps one branch).
  _cloneSource() {
    this.#checkUnused();
    const source = this.#source;
    if (!source) return null;
    if ("stream" in source) {
      const [mine, theirs] = source.stream.tee();
      this._initBody({ stream: mine });
      return { stream: theirs };
    }
    return "text" in source ? { text: source.text } : { bytes: source.bytes.slice() };
  }
}

// The stream of a body given as a string or bytes: one chunk (its bytes), then the end.
export class BodyStream extends ReadableStream {
  #holder;
  constructor(holder) {
    super(
      {
        pull(controller) {
          const bytes = holder._bytesForStream();
          if (bytes.length) controller.enqueue(bytes);
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    this.#holder = holder;
  }
  _holder() {
    return this.#holder;
  }
}

// The body of an incoming request, as both worlds read it: a ReadableStream for the Fetch API, and a string for
// handlers of the original Wasm Workers Server (`JSON.parse(request.body)`, `${request.body}`,
// `request.body.length`, `request.body.split("&")`…). Reading it as a string never uses the body.
export class StringLikeBody extends BodyStream {
  #text;
  constructor(holder, source) {
    super(holder);
    this.#text = () => ("text" in source ? source.text : decoder.decode(source.bytes));
  }
  toString() {
    return this.#text();
  }
  valueOf() {
    return this.#text();
  }
  [Symbol.toPrimitive]() {
    return this.#text();
  }
  toJSON() {
    return this.#text();
  }
  get length() {
    return this.#text().length;
  }
}

for (const name of Object.getOwnPropertyNames(String.prototype)) {
  if (name in StringLikeBody.prototype || typeof String.prototype[name] !== "function") continue;
  Object.defineProperty(StringLikeBody.prototype, name, {
    value: function (...args) {
      return String.prototype[name].apply(this.toString(), args);
    },
    writable: true,
    configurable: true,
  });
}

// FormData with string values (files are read as text).
export class FormData {
  #entries = [];
  append(name, value) {
    this.#entries.push([String(name), String(value)]);
  }
  delete(name) {
    this.#entries = this.#entries.filter(([key]) => key !== String(name));
  }
  get(name) {
    const found = this.#entries.find(([key]) => key === String(name));
    return found ? found[1] : null;
  }
  getAll(name) {
    return this.#entries.filter(([key]) => key === String(name)).map(([, value]) => value);
  }
  has(name) {
    return this.#entries.some(([key]) => key === String(name));
  }
  set(name, value) {
    this.delete(name);
    this.append(name, value);
  }
  *entries() {
    yield* this.#entries.map((pair) => [...pair]);
  }
  *keys() {
    for (const [name] of this.#entries) yield name;
  }
  *values() {
    for (const [, value] of this.#entries) yield value;
  }
  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this.#entries) callback.call(thisArg, value, name, this);
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return "FormData";
  }
  static _multipart(form, boundary) {
    let out = "";
    for (const [name, value] of form.#entries) {
      out += `--${boundary}\r\nContent-Disposition: form-data; name="${name.replace(/"/g, "%22")}"\r\n\r\n${value}\r\n`;
    }
    return out + `--${boundary}--\r\n`;
  }
  static _parseMultipart(text, boundary) {
    const form = new FormData();
    for (const part of text.split(`--${boundary}`).slice(1)) {
      if (part.startsWith("--")) break;
      const split = part.indexOf("\r\n\r\n");
      if (split < 0) continue;
      const head = part.slice(0, split);
      const name = /name="([^"]*)"/i.exec(head);
      if (name) form.append(name[1], part.slice(split + 4).replace(/\r\n$/, ""));
    }
    return form;
  }
}
