// URL and URLSearchParams after the WHATWG URL standard: its parser's state machine, IPv4/IPv6 hosts, UTS-46 for
// non-ASCII hosts (a host call), dot segments, percent-encoding sets, relative resolution, setters that re-parse.
import { host } from "./natives.js";

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

// The UTF-8 decoding of the percent-decoded bytes of `text`; invalid sequences become U+FFFD (which hosts refuse).
function percentDecode(text) {
  if (!text.includes("%")) return text.toWellFormed();
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

// Domain to ASCII: an ASCII domain with no "xn--" label is only lower-cased; any other goes to the host, which applies
// UTS-46 with the standard's flags (wws/worker/domains.py) and refuses what the standard refuses.
function domainToASCII(domain) {
  if (!/[^\0-\x7f]/.test(domain) && !/(^|\.)xn--/i.test(domain)) return domain.toLowerCase();
  try {
    return host("url.domain_to_ascii", { domain });
  } catch (error) {
    throw new TypeError(`Invalid URL: the host "${domain}": ${error.message}`);
  }
}

function parseIPv4Number(part) {
  if (part === "") return NaN;
  let radix = 10;
  if (/^0[xX]/.test(part)) {
    part = part.slice(2);
    radix = 16;
  } else if (part.length > 1 && part[0] === "0") {
    part = part.slice(1);
    radix = 8;
  }
  if (part === "") return 0;
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  return valid.test(part) ? parseInt(part, radix) : NaN;
}

function endsInNumber(host) {
  const parts = host.split(".");
  if (parts[parts.length - 1] === "") {
    if (parts.length === 1) return false;
    parts.pop();
  }
  const last = parts[parts.length - 1];
  return /^[0-9]+$/.test(last) || !Number.isNaN(parseIPv4Number(last));
}

function parseIPv4(host) {
  const parts = host.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  if (parts.length > 4) throw new TypeError("Invalid URL: an IPv4 address has at most four parts");
  const numbers = parts.map(parseIPv4Number);
  if (numbers.some(Number.isNaN)) throw new TypeError(`Invalid URL: "${host}" is not an IPv4 address`);
  const last = numbers.pop();
  if (numbers.some((value) => value > 255) || last >= 256 ** (4 - numbers.length)) {
    throw new TypeError(`Invalid URL: the IPv4 address "${host}" is out of range`);
  }
  let address = last;
  numbers.forEach((value, index) => (address += value * 256 ** (3 - index)));
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
}

function parseIPv6(text) {
  const invalid = () => new TypeError(`Invalid URL: "[${text}]" is not an IPv6 address`);
  const pieces = new Array(8).fill(0);
  const isHex = (char) => char !== undefined && /[0-9a-fA-F]/.test(char);
  const isDigit = (char) => char !== undefined && char >= "0" && char <= "9";
  let piece = 0, compress = null, index = 0;
  if (text[0] === ":") {
    if (text[1] !== ":") throw invalid();
    index = 2;
    compress = ++piece;
  }
  while (index < text.length) {
    if (piece === 8) throw invalid();
    if (text[index] === ":") {
      if (compress !== null) throw invalid();
      index++;
      compress = ++piece;
      continue;
    }
    let value = 0, length = 0;
    while (length < 4 && isHex(text[index])) {
      value = value * 16 + parseInt(text[index], 16);
      index++;
      length++;
    }
    if (text[index] === ".") {
      // An IPv4 tail: exactly four decimal numbers, no leading zeros, each at most 255.
      if (length === 0 || piece > 6) throw invalid();
      index -= length;
      let seen = 0;
      while (index < text.length) {
        if (seen > 0) {
          if (text[index] !== "." || seen >= 4) throw invalid();
          index++;
        }
        if (!isDigit(text[index])) throw invalid();
        let number = null;
        while (isDigit(text[index])) {
          const digit = Number(text[index]);
          if (number === 0) throw invalid();
          number = number === null ? digit : number * 10 + digit;
          if (number > 255) throw invalid();
          index++;
        }
        pieces[piece] = pieces[piece] * 0x100 + number;
        seen++;
        if (seen === 2 || seen === 4) piece++;
      }
      if (seen !== 4) throw invalid();
      break;
    }
    if (text[index] === ":") {
      index++;
      if (index >= text.length) throw invalid();
    } else if (index < text.length) {
      throw invalid();
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
    throw invalid();
  }
  // Serialise: the first longest run of two or more zero pieces becomes "::".
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
    if (!input.endsWith("]")) throw new TypeError(`Invalid URL: "${input}" lacks its closing "]"`);
    return parseIPv6(input.slice(1, -1));
  }
  if (!special) {
    if (FORBIDDEN_HOST.test(input)) throw new TypeError(`Invalid URL: the host "${input}" has a forbidden character`);
    return percentEncode(input, C0_SET);
  }
  const domain = domainToASCII(percentDecode(input));
  if (domain === "" || FORBIDDEN_DOMAIN.test(domain)) {
    throw new TypeError(`Invalid URL: the host "${input}" has a forbidden character`);
  }
  return endsInNumber(domain) ? parseIPv4(domain) : domain;
}

// ---- the parser ----

const isSingleDot = (segment) => segment === "." || segment.toLowerCase() === "%2e";
const isDoubleDot = (segment) => /^(\.|%2e)(\.|%2e)$/i.test(segment);
const isWindowsLetter = (text) => /^[a-zA-Z][:|]$/.test(text);
const isNormalizedWindowsLetter = (text) => /^[a-zA-Z]:$/.test(text);
// Whether the code points from `at` start with a Windows drive letter (then end, or go on with / \ ? #).
const startsWithWindowsLetter = (points, at) =>
  points.length - at >= 2 && isWindowsLetter(points[at] + points[at + 1]) &&
  (points.length - at === 2 || "/\\?#".includes(points[at + 2]));

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

// Absolute http(s) URLs that are already in canonical form (what the host sends, and what most code writes):
// lower-case ASCII host that is not a number nor an xn-- label, no userinfo, no dot segments, nothing to
// percent-encode. Anything else takes the full parser.
const SIMPLE_URL = /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?(?:\?([A-Za-z0-9\-._~!$&()*+,;=:@/%?[\]^`{|}\\]*))?(?:#([A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*))?$/;
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|$)/i;
const NOT_SIMPLE_HOST = /(^|\.)(xn--|[0-9]+$|0x[0-9a-f]*$)/;

function parseSimple(text) {
  const match = SIMPLE_URL.exec(text);
  if (!match || NOT_SIMPLE_HOST.test(match[2]) || (match[4] && DOT_SEGMENT.test(match[4]))) return null;
  const scheme = match[1] + ":";
  if (match[3] && Number(match[3]) > 65535) return null;
  const port = match[3] && match[3] !== SPECIAL_PORTS[scheme] ? match[3] : "";
  return {
    scheme, username: "", password: "", host: match[2], port,
    path: match[4] ? match[4].slice(1).split("/") : [""], opaque: null,
    query: match[5] === undefined ? null : match[5], fragment: match[6] === undefined ? null : match[6],
  };
}

function shortenPath(record) {
  if (record.scheme === "file:" && record.path.length === 1 && isNormalizedWindowsLetter(record.path[0])) return;
  record.path.pop();
}

const EOF = undefined;

// The URL standard's basic URL parser (without a state override: the setters below re-parse instead), one state
// per case of its state machine, over the input's code points.
function parse(input, base) {
  if (typeof input === "string") {
    const simple = parseSimple(input);
    if (simple) return simple;
  }
  const points = Array.from(String(input).replace(/^[\0-\x20]+|[\0-\x20]+$/g, "").replace(/[\t\n\r]/g, ""));
  const failure = (why) => new TypeError(`Invalid URL: ${String(input)}${why ? ` (${why})` : ""}`);
  const record = { scheme: "", username: "", password: "", host: null, port: "", path: [], opaque: null, query: null, fragment: null };
  let state = "scheme start";
  let buffer = "";
  let atSignSeen = false, insideBrackets = false, passwordTokenSeen = false;
  const special = () => Object.hasOwn(SPECIAL_PORTS, record.scheme);
  // From several states, "?" starts the query and "#" the fragment; true when `c` was one of them.
  const startsQueryOrFragment = (c) => {
    if (c === "?") {
      record.query = "";
      state = "query";
    } else if (c === "#") {
      record.fragment = "";
      state = "fragment";
    }
    return c === "?" || c === "#";
  };
  for (let at = 0; at <= points.length; at++) {
    const c = points[at];
    switch (state) {
      case "scheme start":
        if (c !== EOF && /[a-zA-Z]/.test(c)) {
          buffer += c.toLowerCase();
          state = "scheme";
        } else {
          state = "no scheme";
          at--;
        }
        break;
      case "scheme":
        if (c !== EOF && /[a-zA-Z0-9+\-.]/.test(c)) {
          buffer += c.toLowerCase();
        } else if (c === ":") {
          record.scheme = buffer + ":";
          buffer = "";
          if (record.scheme === "file:") {
            state = "file";
          } else if (special() && base && base.scheme === record.scheme) {
            state = "special relative or authority";
          } else if (special()) {
            state = "special authority slashes";
          } else if (points[at + 1] === "/") {
            state = "path or authority";
            at++;
          } else {
            record.opaque = "";
            state = "opaque path";
          }
        } else {
          buffer = "";
          state = "no scheme";
          at = -1;
        }
        break;
      case "no scheme":
        if (!base || (base.opaque !== null && c !== "#")) throw failure(base ? "its base cannot have relative URLs" : "");
        if (base.opaque !== null) {
          Object.assign(record, { scheme: base.scheme, opaque: base.opaque, query: base.query, fragment: "" });
          state = "fragment";
        } else {
          state = base.scheme === "file:" ? "file" : "relative";
          at--;
        }
        break;
      case "special relative or authority":
        if (c === "/" && points[at + 1] === "/") {
          state = "special authority ignore slashes";
          at++;
        } else {
          state = "relative";
          at--;
        }
        break;
      case "path or authority":
        if (c === "/") {
          state = "authority";
        } else {
          state = "path";
          at--;
        }
        break;
      case "relative":
        record.scheme = base.scheme;
        if (c === "/" || (special() && c === "\\")) {
          state = "relative slash";
        } else {
          Object.assign(record, { username: base.username, password: base.password, host: base.host, port: base.port });
          record.path = [...base.path];
          record.query = base.query;
          if (!startsQueryOrFragment(c) && c !== EOF) {
            record.query = null;
            shortenPath(record);
            state = "path";
            at--;
          }
        }
        break;
      case "relative slash":
        if (special() && (c === "/" || c === "\\")) {
          state = "special authority ignore slashes";
        } else if (c === "/") {
          state = "authority";
        } else {
          Object.assign(record, { username: base.username, password: base.password, host: base.host, port: base.port });
          state = "path";
          at--;
        }
        break;
      case "special authority slashes":
        state = "special authority ignore slashes";
        if (c === "/" && points[at + 1] === "/") at++;
        else at--;
        break;
      case "special authority ignore slashes":
        if (c !== "/" && c !== "\\") {
          state = "authority";
          at--;
        }
        break;
      case "authority":
        if (c === "@") {
          if (atSignSeen) buffer = "%40" + buffer;
          atSignSeen = true;
          for (const point of buffer) {
            if (point === ":" && !passwordTokenSeen) {
              passwordTokenSeen = true;
              continue;
            }
            const encoded = percentEncode(point, USERINFO_SET);
            if (passwordTokenSeen) record.password += encoded;
            else record.username += encoded;
          }
          buffer = "";
        } else if (c === EOF || c === "/" || c === "?" || c === "#" || (special() && c === "\\")) {
          if (atSignSeen && buffer === "") throw failure("credentials without a host");
          at -= Array.from(buffer).length + 1;
          buffer = "";
          state = "host";
        } else {
          buffer += c;
        }
        break;
      case "host":
        if (c === ":" && !insideBrackets) {
          if (buffer === "") throw failure("a port without a host");
          record.host = parseHost(buffer, special());
          buffer = "";
          state = "port";
        } else if (c === EOF || c === "/" || c === "?" || c === "#" || (special() && c === "\\")) {
          at--;
          if (special() && buffer === "") throw failure("no host");
          record.host = buffer === "" ? "" : parseHost(buffer, special());
          buffer = "";
          state = "path start";
        } else {
          if (c === "[") insideBrackets = true;
          if (c === "]") insideBrackets = false;
          buffer += c;
        }
        break;
      case "port":
        if (c !== EOF && c >= "0" && c <= "9") {
          buffer += c;
        } else if (c === EOF || c === "/" || c === "?" || c === "#" || (special() && c === "\\")) {
          if (buffer !== "") {
            const port = parseInt(buffer, 10);
            if (port > 65535) throw failure("the port is out of range");
            record.port = String(port) === SPECIAL_PORTS[record.scheme] ? "" : String(port);
            buffer = "";
          }
          state = "path start";
          at--;
        } else {
          throw failure("the port is not a number");
        }
        break;
      case "file":
        record.scheme = "file:";
        record.host = "";
        if (c === "/" || c === "\\") {
          state = "file slash";
        } else if (base && base.scheme === "file:") {
          record.host = base.host;
          record.path = [...base.path];
          record.query = base.query;
          if (!startsQueryOrFragment(c) && c !== EOF) {
            record.query = null;
            if (!startsWithWindowsLetter(points, at)) shortenPath(record);
            else record.path = [];
            state = "path";
            at--;
          }
        } else {
          state = "path";
          at--;
        }
        break;
      case "file slash":
        if (c === "/" || c === "\\") {
          state = "file host";
        } else {
          if (base && base.scheme === "file:") {
            record.host = base.host;
            if (!startsWithWindowsLetter(points, at) && base.path.length && isNormalizedWindowsLetter(base.path[0])) {
              record.path.push(base.path[0]);
            }
          }
          state = "path";
          at--;
        }
        break;
      case "file host":
        if (c === EOF || c === "/" || c === "\\" || c === "?" || c === "#") {
          at--;
          if (isWindowsLetter(buffer)) {
            state = "path"; // the drive letter quirk: the buffer becomes the first path segment
          } else if (buffer === "") {
            record.host = "";
            state = "path start";
          } else {
            const parsed = parseHost(buffer, true);
            record.host = parsed === "localhost" ? "" : parsed;
            buffer = "";
            state = "path start";
          }
        } else {
          buffer += c;
        }
        break;
      case "path start":
        if (special()) {
          state = "path";
          if (c !== "/" && c !== "\\") at--;
        } else if (!startsQueryOrFragment(c) && c !== EOF) {
          state = "path";
          if (c !== "/") at--;
        }
        break;
      case "path":
        if (c === EOF || c === "/" || (special() && c === "\\") || c === "?" || c === "#") {
          const slash = c === "/" || (special() && c === "\\");
          if (isDoubleDot(buffer)) {
            shortenPath(record);
            if (!slash) record.path.push("");
          } else if (isSingleDot(buffer) && !slash) {
            record.path.push("");
          } else if (!isSingleDot(buffer)) {
            if (record.scheme === "file:" && record.path.length === 0 && isWindowsLetter(buffer)) {
              buffer = buffer[0] + ":";
            }
            record.path.push(buffer);
          }
          buffer = "";
          startsQueryOrFragment(c);
        } else {
          buffer += percentEncode(c, PATH_SET);
        }
        break;
      case "opaque path":
        if (c === " ") {
          record.opaque += points[at + 1] === "?" || points[at + 1] === "#" ? "%20" : " ";
        } else if (c !== EOF && !startsQueryOrFragment(c)) {
          record.opaque += percentEncode(c, C0_SET);
        }
        break;
      case "query":
        if (c === "#" || c === EOF) {
          record.query += percentEncode(buffer, special() ? SPECIAL_QUERY_SET : QUERY_SET);
          buffer = "";
          if (c === "#") {
            record.fragment = "";
            state = "fragment";
          }
        } else {
          buffer += c;
        }
        break;
      case "fragment":
        if (c !== EOF) record.fragment += percentEncode(c, FRAGMENT_SET);
        break;
    }
  }
  return record;
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
    this.#params = new URLSearchParams();
    URLSearchParams._reset(this.#params, this.#record.query || "");
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
