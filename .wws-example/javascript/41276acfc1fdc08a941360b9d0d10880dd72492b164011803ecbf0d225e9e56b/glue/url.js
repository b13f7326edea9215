// URL and URLSearchParams after the WHATWG URL standard: special schemes, IPv4/IPv6 hosts, IDNA (punycode),
// dot segments, percent-encoding sets, relative resolution, and setters that re-parse.
const SPECIAL_PORTS = { "ftp:": "21", "file:": "", "http:": "80", "https:": "443", "ws:": "80", "wss:": "443" };
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+\-.]*):/;
const FORBIDDEN_HOST = /[\0\t\n\r #/:<>?@[\\\]^|]/;
const FORBIDDEN_DOMAIN = /[\0-\x1f\t\n\r #%/:<>?@[\\\]^|\x7f]/;

// The percent-encode sets, as tables of the ASCII characters they encode (everything above ASCII is encoded).
function encodeSet(encodes) {
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) table[code] = encodes(code) ? 1 : 0;
  return table;
}
const inSet = (characters) => (code) => characters.includes(String.fromCharCode(code));
const C0_SET = encodeSet((code) => code <= 0x1f || code === 0x7f);
const FRAGMENT_SET = encodeSet((code) => C0_SET[code] || inSet(' "<>`')(code));
const QUERY_SET = encodeSet((code) => C0_SET[code] || inSet(' "#<>')(code));
const SPECIAL_QUERY_SET = encodeSet((code) => QUERY_SET[code] || code === 0x27);
const PATH_SET = encodeSet((code) => QUERY_SET[code] || inSet("?^`{}")(code));
const USERINFO_SET = encodeSet((code) => PATH_SET[code] || inSet("/:;=@[\\]|")(code));
const FORM_SET = encodeSet((code) => !/[A-Za-z0-9*\-._]/.test(String.fromCharCode(code)));

const utf8 = (text) => unescape(encodeURIComponent(text.toWellFormed()));

function percentEncode(text, set) {
  let start = 0;
  while (start < text.length) {
    const code = text.charCodeAt(start);
    if (code >= 0x80 || set[code]) break;
    start++;
  }
  if (start === text.length) return text; // the common case: nothing to encode
  let out = text.slice(0, start);
  for (const char of text.slice(start)) {
    const code = char.codePointAt(0);
    if (code < 0x80 && !set[code]) {
      out += char;
      continue;
    }
    for (const byte of utf8(char)) out += "%" + byte.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function percentDecode(text) {
  const bytes = [];
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "%" && /^[0-9a-fA-F]{2}$/.test(text.slice(index + 1, index + 3))) {
      bytes.push(parseInt(text.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      for (const byte of utf8(char)) bytes.push(byte.charCodeAt(0));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

// ---- hosts ----

function punycode(label) {
  const codes = Array.from(label, (char) => char.codePointAt(0));
  let output = codes.filter((code) => code < 0x80).map((code) => String.fromCharCode(code)).join("");
  const basic = output.length;
  let handled = basic;
  if (basic) output += "-";
  let n = 128, delta = 0, bias = 72;
  const adapt = (value, count, first) => {
    value = first ? Math.floor(value / 700) : value >> 1;
    value += Math.floor(value / count);
    let k = 0;
    for (; value > 455; k += 36) value = Math.floor(value / 35);
    return k + Math.floor((36 * value) / (value + 38));
  };
  const digit = (value) => String.fromCharCode(value + 22 + 75 * (value < 26));
  while (handled < codes.length) {
    const next = Math.min(...codes.filter((code) => code >= n));
    delta += (next - n) * (handled + 1);
    n = next;
    for (const code of codes) {
      if (code < n) delta++;
      if (code !== n) continue;
      let q = delta;
      for (let k = 36; ; k += 36) {
        const t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
        if (q < t) break;
        output += digit(t + ((q - t) % (36 - t)));
        q = Math.floor((q - t) / (36 - t));
      }
      output += digit(q);
      bias = adapt(delta, handled + 1, handled === basic);
      delta = 0;
      handled++;
    }
    delta++;
    n++;
  }
  return output;
}

function toASCII(domain) {
  return domain
    .normalize("NFC")
    .toLowerCase()
    .split(/[.\u3002\uff0e\uff61]/)
    .map((label) => (/[^\0-\x7f]/.test(label) ? "xn--" + punycode(label) : label))
    .join(".");
}

function parseIPv4Number(part) {
  if (part === "") return NaN;
  let radix = 10;
  if (/^0[xX]/.test(part)) {
    part = part.slice(2);
    radix = 16;
    if (part === "") return 0;
  } else if (part.length > 1 && part[0] === "0") {
    part = part.slice(1);
    radix = 8;
  }
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  return valid.test(part) ? parseInt(part, radix) : NaN;
}

function endsInNumber(host) {
  const parts = host.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  const last = parts[parts.length - 1];
  return /^[0-9]+$/.test(last) || !Number.isNaN(parseIPv4Number(last)) && /^0[xX]/.test(last);
}

function parseIPv4(host) {
  const parts = host.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  if (parts.length > 4) throw new TypeError("Invalid URL");
  const numbers = parts.map(parseIPv4Number);
  if (numbers.some(Number.isNaN)) throw new TypeError("Invalid URL");
  const last = numbers.pop();
  if (numbers.some((value) => value > 255) || last >= 256 ** (4 - numbers.length)) throw new TypeError("Invalid URL");
  let address = last;
  numbers.forEach((value, index) => (address += value * 256 ** (3 - index)));
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
}

function parseIPv6(text) {
  const pieces = new Array(8).fill(0);
  let piece = 0, compress = null, index = 0;
  if (text[0] === ":") {
    if (text[1] !== ":") throw new TypeError("Invalid URL");
    index = 2;
    compress = ++piece;
  }
  while (index < text.length) {
    if (piece === 8) throw new TypeError("Invalid URL");
    if (text[index] === ":") {
      if (compress !== null) throw new TypeError("Invalid URL");
      index++;
      compress = ++piece;
      continue;
    }
    let value = 0, length = 0;
    while (length < 4 && /[0-9a-fA-F]/.test(text[index] || "")) {
      value = value * 16 + parseInt(text[index], 16);
      index++;
      length++;
    }
    if (text[index] === ".") {
      if (length === 0 || piece > 6) throw new TypeError("Invalid URL");
      const v4 = parseIPv4(text.slice(index - length)).split(".").map(Number);
      pieces[piece++] = v4[0] * 256 + v4[1];
      pieces[piece++] = v4[2] * 256 + v4[3];
      index = text.length;
      break;
    }
    if (text[index] === ":") {
      index++;
      if (index >= text.length) throw new TypeError("Invalid URL");
    } else if (index < text.length) {
      throw new TypeError("Invalid URL");
    }
    pieces[piece++] = value;
  }
  if (compress !== null) {
    let swaps = piece - compress;
    piece = 7;
    while (piece !== 0 && swaps > 0) {
      [pieces[piece], pieces[compress + swaps - 1]] = [pieces[compress + swaps - 1], pieces[piece]];
      piece--;
      swaps--;
    }
  } else if (piece !== 8) {
    throw new TypeError("Invalid URL");
  }
  // Serialise: the longest run of two or more zero pieces becomes "::".
  let best = -1, bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let end = start;
    while (end < 8 && pieces[end] === 0) end++;
    if (end - start > bestLength) [best, bestLength] = [start, end - start];
  }
  let out = "";
  for (let at = 0; at < 8; at++) {
    if (at === best) {
      out += at === 0 ? "::" : ":";
      at += bestLength - 1;
      continue;
    }
    out += pieces[at].toString(16) + (at < 7 ? ":" : "");
  }
  return `[${out}]`;
}

function parseHost(input, special) {
  if (input.startsWith("[")) {
    if (!input.endsWith("]")) throw new TypeError("Invalid URL");
    return parseIPv6(input.slice(1, -1));
  }
  if (!special) {
    if (FORBIDDEN_HOST.test(input)) throw new TypeError("Invalid URL");
    return percentEncode(input, C0_SET);
  }
  const domain = toASCII(percentDecode(input));
  if (domain === "" || FORBIDDEN_DOMAIN.test(domain)) throw new TypeError("Invalid URL");
  return endsInNumber(domain) ? parseIPv4(domain) : domain;
}

// ---- the parser ----

const isSingleDot = (segment) => segment === "." || segment.toLowerCase() === "%2e";
const isDoubleDot = (segment) => /^(\.|%2e)(\.|%2e)$/i.test(segment);
const isWindowsLetter = (text) => /^[a-zA-Z][:|]$/.test(text);

function parsePath(text, special, base = []) {
  const segments = [...base];
  const parts = text.split(special ? /[/\\]/ : "/");
  parts.forEach((part, index) => {
    const last = index === parts.length - 1;
    if (isDoubleDot(part)) {
      segments.pop();
      if (last) segments.push("");
    } else if (isSingleDot(part)) {
      if (last) segments.push("");
    } else {
      segments.push(percentEncode(part, PATH_SET));
    }
  });
  return segments;
}

function finishPath(record, text, special, splitQuery) {
  const rest = splitQuery(text);
  record.path = rest === "" ? (special ? [""] : []) : parsePath(rest.slice(1), special);
  return record;
}

// Absolute http(s) URLs that are already in canonical form (what the host sends, and what most code writes):
// lower-case host, no userinfo, no dot segments, nothing to percent-encode. Anything else takes the full parser.
const SIMPLE_URL = /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?(?:\?([A-Za-z0-9\-._~!$&()*+,;=:@/%?[\]^`{|}\\]*))?(?:#([A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*))?$/;
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|$)/i;

function parseSimple(text) {
  const match = SIMPLE_URL.exec(text);
  if (!match || /\.$|(^|\.)[0-9]+$/.test(match[2]) || (match[4] && DOT_SEGMENT.test(match[4]))) return null;
  const scheme = match[1] + ":";
  const port = match[3] && match[3] !== SPECIAL_PORTS[scheme] && Number(match[3]) <= 65535 ? match[3] : "";
  if (match[3] && Number(match[3]) > 65535) return null;
  return {
    scheme, username: "", password: "", host: match[2], port,
    path: match[4] ? match[4].slice(1).split("/") : [""], opaque: null,
    query: match[5] === undefined ? null : match[5], fragment: match[6] === undefined ? null : match[6],
  };
}

function parse(input, base) {
  if (typeof input === "string") {
    const simple = parseSimple(input);
    if (simple) return simple;
  }
  let text = String(input).replace(/^[\0-\x20]+|[\0-\x20]+$/g, "").replace(/[\t\n\r]/g, "");
  const record = { scheme: "", username: "", password: "", host: null, port: "", path: [], opaque: null, query: null, fragment: null };
  const hashAt = text.indexOf("#");
  if (hashAt >= 0) {
    record.fragment = percentEncode(text.slice(hashAt + 1), FRAGMENT_SET);
    text = text.slice(0, hashAt);
  }
  const schemeMatch = SCHEME.exec(text);
  if (schemeMatch) {
    record.scheme = schemeMatch[1].toLowerCase() + ":";
    text = text.slice(schemeMatch[0].length);
  } else if (!base) {
    throw new TypeError(`Invalid URL: ${String(input)}`);
  }
  const special = Object.hasOwn(SPECIAL_PORTS, record.scheme || base.scheme);
  const splitQuery = (rest) => {
    const queryAt = rest.indexOf("?");
    if (queryAt < 0) return rest;
    record.query = percentEncode(rest.slice(queryAt + 1), special ? SPECIAL_QUERY_SET : QUERY_SET);
    return rest.slice(0, queryAt);
  };
  const slash = special ? /^[/\\]/ : /^\//;
  const sameSchemeAsBase = base && (record.scheme === "" || (special && record.scheme === base.scheme && !slash.test(text)));

  if (sameSchemeAsBase && !(special && record.scheme && /^[/\\]{2}/.test(text))) {
    // Relative to the base.
    if (base.opaque !== null) {
      if (record.scheme || !(text === "" && hashAt >= 0)) throw new TypeError(`Invalid URL: ${String(input)}`);
      Object.assign(record, { scheme: base.scheme, opaque: base.opaque, query: base.query });
      return record;
    }
    record.scheme = base.scheme;
    if (/^[/\\]{2}/.test(text) && (special || text.startsWith("//"))) {
      text = parseAuthority(record, text.slice(2), special, input);
      return finishPath(record, text, special, splitQuery);
    }
    Object.assign(record, { username: base.username, password: base.password, host: base.host, port: base.port });
    text = splitQuery(text);
    if (slash.test(text)) {
      record.path = parsePath(text.slice(1), special);
    } else if (text === "") {
      record.path = [...base.path];
      if (record.query === null && !String(input).includes("?")) record.query = base.query;
    } else {
      record.path = parsePath(text, special, base.path.slice(0, -1));
    }
    return record;
  }
  if (record.scheme === "file:") {
    // file: has an authority only after exactly two slashes ("file:///etc" has an empty host).
    text = /^[/\\]{2}/.test(text) ? parseAuthority(record, text.slice(2), special, input) : text;
    record.host ??= "";
    return finishPath(record, text, special, splitQuery);
  }
  if (special || text.startsWith("//")) {
    if (special) text = text.replace(/^[/\\]*/, "");
    else text = text.slice(2);
    text = parseAuthority(record, text, special, input);
    return finishPath(record, text, special, splitQuery);
  }
  text = splitQuery(text);
  if (text.startsWith("/")) record.path = parsePath(text.slice(1), false);
  else record.opaque = percentEncode(text, C0_SET);
  return record;
}

// Parse "user:pass@host:port" off the front of `text` into `record`; return the rest (path, query).
function parseAuthority(record, text, special, input) {
  const end = text.search(special ? /[/\\?]/ : /[/?]/);
  let authority = end >= 0 ? text.slice(0, end) : text;
  const rest = end >= 0 ? text.slice(end) : "";
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(":");
    record.username = percentEncode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, USERINFO_SET);
    record.password = colon >= 0 ? percentEncode(userinfo.slice(colon + 1), USERINFO_SET) : "";
    authority = authority.slice(at + 1);
  }
  const portMatch = /:([^:\]]*)$/.exec(authority);
  let hostText = authority;
  if (portMatch) {
    hostText = authority.slice(0, portMatch.index);
    const port = portMatch[1];
    if (!/^[0-9]*$/.test(port) || Number(port) > 65535) throw new TypeError(`Invalid URL: ${String(input)}`);
    record.port = port === "" || String(Number(port)) === SPECIAL_PORTS[record.scheme] ? "" : String(Number(port));
  }
  if (special && hostText === "" && record.scheme !== "file:") throw new TypeError(`Invalid URL: ${String(input)}`);
  record.host = hostText === "" ? "" : parseHost(hostText, special);
  if (record.scheme === "file:" && record.host === "localhost") record.host = "";
  return rest;
}

function serialize(record, withFragment = true) {
  let out = record.scheme;
  if (record.host !== null) {
    out += "//";
    if (record.username || record.password) {
      out += record.username + (record.password ? ":" + record.password : "") + "@";
    }
    out += record.host + (record.port ? ":" + record.port : "");
  }
  if (record.opaque !== null) out += record.opaque;
  else out += (record.host === null && record.path.length > 1 && record.path[0] === "" ? "/." : "") + (record.path.length ? "/" + record.path.join("/") : "");
  if (record.query !== null) out += "?" + record.query;
  if (withFragment && record.fragment !== null) out += "#" + record.fragment;
  return out;
}

// ---- URLSearchParams ----

function formDecode(text) {
  return percentDecode(text.replace(/\+/g, " "));
}

function formEncode(text) {
  return percentEncode(String(text), FORM_SET).replace(/%20/g, "+");
}

const linkedUrl = new WeakMap();

export class URLSearchParams {
  #list = [];

  constructor(init = "") {
    if (init instanceof URLSearchParams) {
      this.#list = init.#list.map((pair) => [...pair]);
    } else if (init !== null && typeof init === "object") {
      if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const items = [...pair];
          if (items.length !== 2) throw new TypeError("URLSearchParams: each pair must be [name, value]");
          this.#list.push([String(items[0]), String(items[1])]);
        }
      } else {
        for (const name of Object.keys(init)) this.#list.push([name, String(init[name])]);
      }
    } else {
      this.#parse(String(init).replace(/^\?/, ""));
    }
  }

  #parse(text) {
    this.#list = [];
    for (const part of text.split("&")) {
      if (part === "") continue;
      const equals = part.indexOf("=");
      this.#list.push(equals >= 0 ? [formDecode(part.slice(0, equals)), formDecode(part.slice(equals + 1))] : [formDecode(part), ""]);
    }
  }

  #changed() {
    const url = linkedUrl.get(this);
    if (url) url._setQueryFromParams(this.toString());
  }

  static _reset(params, query) {
    params.#parse(query);
  }

  get size() {
    return this.#list.length;
  }

  append(name, value) {
    this.#list.push([String(name), String(value)]);
    this.#changed();
  }

  delete(name, value = undefined) {
    name = String(name);
    this.#list = this.#list.filter(([key, item]) => key !== name || (value !== undefined && item !== String(value)));
    this.#changed();
  }

  get(name) {
    const found = this.#list.find(([key]) => key === String(name));
    return found ? found[1] : null;
  }

  getAll(name) {
    return this.#list.filter(([key]) => key === String(name)).map(([, value]) => value);
  }

  has(name, value = undefined) {
    return this.#list.some(([key, item]) => key === String(name) && (value === undefined || item === String(value)));
  }

  set(name, value) {
    name = String(name);
    const index = this.#list.findIndex(([key]) => key === name);
    if (index < 0) {
      this.#list.push([name, String(value)]);
    } else {
      this.#list[index][1] = String(value);
      this.#list = this.#list.filter(([key], at) => key !== name || at === index);
    }
    this.#changed();
  }

  sort() {
    this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#changed();
  }

  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this.#list) callback.call(thisArg, value, name, this);
  }

  *entries() {
    for (const [name, value] of this.#list) yield [name, value];
  }

  *keys() {
    for (const [name] of this.#list) yield name;
  }

  *values() {
    for (const [, value] of this.#list) yield value;
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  toString() {
    return this.#list.map(([name, value]) => `${formEncode(name)}=${formEncode(value)}`).join("&");
  }

  get [Symbol.toStringTag]() {
    return "URLSearchParams";
  }
}

// ---- URL ----

export class URL {
  #record;
  #params;

  constructor(url, base = undefined) {
    const baseRecord = base === undefined ? null : base instanceof URL ? base.#record : parse(base, null);
    this.#record = parse(url, baseRecord);
    this.#params = new URLSearchParams(this.#record.query || "");
    linkedUrl.set(this.#params, this);
  }

  static canParse(url, base = undefined) {
    try {
      new URL(url, base);
      return true;
    } catch {
      return false;
    }
  }

  static parse(url, base = undefined) {
    try {
      return new URL(url, base);
    } catch {
      return null;
    }
  }

  _setQueryFromParams(query) {
    this.#record.query = query === "" ? null : query;
  }

  #reparse(href) {
    this.#record = parse(href, null);
    URLSearchParams._reset(this.#params, this.#record.query || "");
  }

  get href() {
    return serialize(this.#record);
  }
  set href(value) {
    this.#reparse(value);
  }
  get origin() {
    const { scheme, host, port } = this.#record;
    if (scheme === "blob:") {
      try {
        return new URL(this.pathname).origin;
      } catch {
        return "null";
      }
    }
    return Object.hasOwn(SPECIAL_PORTS, scheme) && scheme !== "file:" ? `${scheme}//${host}${port ? ":" + port : ""}` : "null";
  }
  get protocol() {
    return this.#record.scheme;
  }
  set protocol(value) {
    const scheme = String(value).replace(/:.*$/, "").toLowerCase() + ":";
    if (!SCHEME.test(scheme)) return;
    const special = Object.hasOwn(SPECIAL_PORTS, scheme);
    if (special !== Object.hasOwn(SPECIAL_PORTS, this.#record.scheme)) return;
    this.#record.scheme = scheme;
    if (this.#record.port === SPECIAL_PORTS[scheme]) this.#record.port = "";
  }
  get username() {
    return this.#record.username;
  }
  set username(value) {
    if (this.#record.host) this.#record.username = percentEncode(String(value), USERINFO_SET);
  }
  get password() {
    return this.#record.password;
  }
  set password(value) {
    if (this.#record.host) this.#record.password = percentEncode(String(value), USERINFO_SET);
  }
  get host() {
    const { host, port } = this.#record;
    return host === null ? "" : host + (port ? ":" + port : "");
  }
  set host(value) {
    if (this.#record.opaque !== null) return;
    try {
      const probe = parse(`${this.#record.scheme}//${value}`, null);
      Object.assign(this.#record, { host: probe.host, port: probe.port });
    } catch {
      // invalid hosts are ignored, as in browsers
    }
  }
  get hostname() {
    return this.#record.host ?? "";
  }
  set hostname(value) {
    if (this.#record.opaque !== null) return;
    try {
      this.#record.host = parse(`${this.#record.scheme}//${String(value).replace(/[:/?#].*$/, "")}`, null).host;
    } catch {
      // ignored
    }
  }
  get port() {
    return this.#record.port;
  }
  set port(value) {
    if (!this.#record.host || this.#record.scheme === "file:") return;
    const digits = String(value).match(/^[0-9]*/)[0];
    if (digits === "") {
      if (String(value) === "") this.#record.port = "";
      return;
    }
    if (Number(digits) > 65535) return;
    const port = String(Number(digits));
    this.#record.port = port === SPECIAL_PORTS[this.#record.scheme] ? "" : port;
  }
  get pathname() {
    const { opaque, path } = this.#record;
    return opaque !== null ? opaque : path.length ? "/" + path.join("/") : "";
  }
  set pathname(value) {
    if (this.#record.opaque !== null) return;
    const special = Object.hasOwn(SPECIAL_PORTS, this.#record.scheme);
    this.#record.path = parsePath(String(value).replace(special ? /^[/\\]/ : /^\//, ""), special);
  }
  get search() {
    const query = this.#record.query;
    return query ? "?" + query : "";
  }
  set search(value) {
    const text = String(value).replace(/^\?/, "");
    const special = Object.hasOwn(SPECIAL_PORTS, this.#record.scheme);
    this.#record.query = text === "" ? null : percentEncode(text, special ? SPECIAL_QUERY_SET : QUERY_SET);
    URLSearchParams._reset(this.#params, text);
  }
  get searchParams() {
    return this.#params;
  }
  get hash() {
    const fragment = this.#record.fragment;
    return fragment ? "#" + fragment : "";
  }
  set hash(value) {
    const text = String(value).replace(/^#/, "");
    this.#record.fragment = text === "" ? null : percentEncode(text, FRAGMENT_SET);
  }
  toString() {
    return this.href;
  }
  toJSON() {
    return this.href;
  }
  get [Symbol.toStringTag]() {
    return "URL";
  }
}
