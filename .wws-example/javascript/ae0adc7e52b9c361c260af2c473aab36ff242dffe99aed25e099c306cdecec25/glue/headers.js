// Headers: case-insensitive names, repeated values joined with ", " (Set-Cookie kept apart), sorted iteration.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_VALUE = /[\0\r\n]/;
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const immutable = new WeakSet();

const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const isWhitespace = (code) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

function checkName(name) {
  const text = String(name);
  if (LOWER_TOKEN.test(text)) return text;
  if (!TOKEN.test(text)) throw new TypeError(`Invalid header name: "${text}"`);
  return text.toLowerCase();
}

function checkValue(value) {
  let text = String(value);
  if (text && (isWhitespace(text.charCodeAt(0)) || isWhitespace(text.charCodeAt(text.length - 1)))) {
    text = text.replace(EDGE_WHITESPACE, "");
  }
  if (FORBIDDEN_VALUE.test(text)) throw new TypeError(`Invalid header value: "${text}"`);
  return text;
}

export class Headers {
  #map = new Map(); // lower-case name -> [values]

  constructor(init = undefined) {
    if (init == null) return;
    if (init instanceof Headers) {
      for (const [name, values] of init.#map) this.#map.set(name, [...values]);
    } else if (typeof init === "object" && typeof init[Symbol.iterator] === "function") {
      for (const pair of init) {
        const items = [...pair];
        if (items.length !== 2) throw new TypeError("Headers: each pair must be [name, value]");
        this.append(items[0], items[1]);
      }
    } else if (typeof init === "object") {
      for (const name of Object.keys(init)) this.append(name, init[name]);
    } else {
      throw new TypeError("Headers: expected an object, an array of pairs or Headers");
    }
  }

  // Headers the host sent (already validated, names lower-case, repeats joined).
  static _fromWire(wire) {
    const headers = new Headers();
    for (const name of Object.keys(wire)) headers.#map.set(name, [wire[name]]);
    return headers;
  }

  // A header the glue itself sets on a new Headers (a body's content type): a known name and value, unchecked.
  static _put(headers, name, value) {
    headers.#map.set(name, [value]);
  }

  #writable() {
    if (immutable.has(this)) throw new TypeError("Can't modify immutable headers.");
  }

  append(name, value) {
    this.#writable();
    const key = checkName(name);
    const values = this.#map.get(key);
    if (values) values.push(checkValue(value));
    else this.#map.set(key, [checkValue(value)]);
  }

  set(name, value) {
    this.#writable();
    this.#map.set(checkName(name), [checkValue(value)]);
  }

  delete(name) {
    this.#writable();
    this.#map.delete(checkName(name));
  }

  get(name) {
    const values = this.#map.get(checkName(name));
    return values ? values.join(", ") : null;
  }

  getAll(name) {
    return [...(this.#map.get(checkName(name)) || [])];
  }

  getSetCookie() {
    return [...(this.#map.get("set-cookie") || [])];
  }

  has(name) {
    return this.#map.has(checkName(name));
  }

  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }

  *entries() {
    for (const name of [...this.#map.keys()].sort()) {
      const values = this.#map.get(name);
      if (!values) continue;
      if (name === "set-cookie") for (const value of values) yield [name, value];
      else yield [name, values.join(", ")];
    }
  }

  *keys() {
    for (const [name] of this.entries()) yield name;
  }

  *values() {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  get [Symbol.toStringTag]() {
    return "Headers";
  }

  // The wire form for the host: {name: value or [values]} (several Set-Cookie stay separate).
  static toWire(headers) {
    const wire = {};
    for (const [name, values] of headers.#map) wire[name] = name === "set-cookie" && values.length > 1 ? [...values] : values.join(", ");
    return wire;
  }
}

// [[name, value]…] for outbound requests (Set-Cookie values stay separate).
export function headerPairs(headers) {
  return [...headers.entries()];
}

export function freezeHeaders(headers) {
  immutable.add(headers);
  return headers;
}
