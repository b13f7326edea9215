// The body of a Request or Response: kept as the string or bytes it was given (no needless conversions), read once.
import { base64ToBytes, bytesToBase64, decoder, encoder, toUint8Array } from "./encoding.js";
import { URLSearchParams } from "./url.js";

// What a body init becomes: { text } or { bytes }, plus the content type it implies.
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
  if (init instanceof BodyStream) return { source: init._holder()._takeSource(), type: init._holder().headers.get("content-type") };
  if (init instanceof BodyHolder) return { source: init._takeSource(), type: init.headers.get("content-type") };
  return { source: { text: String(init) }, type: "text/plain;charset=UTF-8" };
}

export function sourceFromWire(text, base64) {
  if (base64) return { bytes: base64ToBytes(text) };
  return text === "" ? null : { text };
}

// The base of Request and Response: text/json/arrayBuffer/bytes/formData, each usable once.
export class BodyHolder {
  #source = null;
  #used = false;

  _initBody(source) {
    this.#source = source;
  }

  _takeSource() {
    this.#checkUnused();
    const source = this.#source;
    if (source) this.#used = true;
    return source;
  }

  #checkUnused() {
    if (this.#used) throw new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
  }

  get bodyUsed() {
    return this.#used;
  }

  get body() {
    return this.#source ? new BodyStream(this) : null;
  }

  async text() {
    const source = this._takeSource();
    if (!source) return "";
    return "text" in source ? source.text : decoder.decode(source.bytes);
  }

  async json() {
    return JSON.parse(await this.text());
  }

  async bytes() {
    const source = this._takeSource();
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

  // For the wire (host JSON): a string body as text, bytes as base64.
  _wireBody() {
    const source = this.#source;
    if (!source) return { data: "", base64: false };
    this.#used = true;
    return "text" in source ? { data: source.text, base64: false } : { data: bytesToBase64(source.bytes), base64: true };
  }

  _cloneSource() {
    this.#checkUnused();
    const source = this.#source;
    return source && ("text" in source ? { text: source.text } : { bytes: source.bytes.slice() });
  }
}

// A minimal ReadableStream over a whole body: enough for `getReader().read()` and for passing a body along.
export class BodyStream {
  #holder;
  constructor(holder) {
    this.#holder = holder;
  }
  get locked() {
    return false;
  }
  getReader() {
    let done = false;
    const holder = this.#holder;
    return {
      async read() {
        if (done) return { done: true, value: undefined };
        done = true;
        const bytes = await holder.bytes();
        return bytes.length ? { done: false, value: bytes } : { done: true, value: undefined };
      },
      releaseLock() {},
      async cancel() {
        done = true;
      },
    };
  }
  _holder() {
    return this.#holder;
  }
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
