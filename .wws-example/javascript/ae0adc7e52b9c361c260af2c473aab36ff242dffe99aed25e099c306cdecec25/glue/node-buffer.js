// `node:buffer`, as Cloudflare's nodejs_compat offers it: Buffer, a Uint8Array with Node's encodings (utf8, hex,
// base64, base64url, latin1/binary, ascii, utf16le/ucs2) and the methods handlers use. Loaded only by workers that
// import it or set `compatibility_flags = ["nodejs_compat"]` (which makes `Buffer` a global).
import { base64UrlToBytes, bytesToBase64, bytesToBase64Url, toUint8Array } from "./encoding.js";
import { utf8Decode, utf8Encode } from "./natives.js";

const ENCODINGS = new Map([
  ["utf8", "utf8"], ["utf-8", "utf8"], ["hex", "hex"], ["base64", "base64"], ["base64url", "base64url"],
  ["latin1", "latin1"], ["binary", "latin1"], ["ascii", "ascii"], ["utf16le", "utf16le"], ["utf-16le", "utf16le"],
  ["ucs2", "utf16le"], ["ucs-2", "utf16le"],
]);

function encodingOf(encoding) {
  if (encoding === undefined || encoding === null) return "utf8";
  const found = ENCODINGS.get(String(encoding).toLowerCase());
  if (!found) throw new TypeError(`Unknown encoding: ${encoding}`);
  return found;
}

function latin1Bytes(string, mask) {
  const bytes = new Uint8Array(string.length);
  for (let index = 0; index < string.length; index++) bytes[index] = string.charCodeAt(index) & mask;
  return bytes;
}

// The bytes of `string` in `encoding` (Node's rules: hex stops at the first bad pair, base64 skips what is not
// base64 and accepts either alphabet, with or without padding).
function encode(string, encoding) {
  switch (encoding) {
    case "utf8":
      return utf8Encode(string);
    case "hex": {
      const bytes = new Uint8Array(string.length >>> 1);
      let count = 0;
      for (; count < bytes.length; count++) {
        const pair = string.slice(count * 2, count * 2 + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(pair)) break;
        bytes[count] = parseInt(pair, 16);
      }
      return bytes.subarray(0, count);
    }
    case "base64":
    case "base64url": {
      const text = string.replace(/[^A-Za-z0-9+/\-_]/g, "");
      return base64UrlToBytes(text.length % 4 === 1 ? text.slice(0, -1) : text);
    }
    case "latin1":
    case "ascii":
      return latin1Bytes(string, 0xff);
    case "utf16le": {
      const bytes = new Uint8Array(string.length * 2);
      for (let index = 0; index < string.length; index++) {
        const unit = string.charCodeAt(index);
        bytes[index * 2] = unit & 0xff;
        bytes[index * 2 + 1] = unit >>> 8;
      }
      return bytes;
    }
  }
  throw new TypeError(`Unknown encoding: ${encoding}`);
}

function charCodes(codes) {
  let text = "";
  for (let index = 0; index < codes.length; index += 0x8000) {
    text += String.fromCharCode.apply(null, codes.subarray(index, index + 0x8000));
  }
  return text;
}

function decode(bytes, encoding) {
  switch (encoding) {
    case "utf8":
      return utf8Decode(bytes, false, true);
    case "hex":
      return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    case "base64":
      return bytesToBase64(bytes);
    case "base64url":
      return bytesToBase64Url(bytes);
    case "latin1":
      return charCodes(bytes);
    case "ascii":
      return charCodes(bytes.map((byte) => byte & 0x7f));
    case "utf16le":
      return charCodes(new Uint16Array(bytes.slice(0, bytes.length & ~1).buffer));
  }
  throw new TypeError(`Unknown encoding: ${encoding}`);
}

function indexOfBytes(haystack, needle, from) {
  if (needle.length === 0) return Math.min(from, haystack.length);
  outer: for (let start = Math.max(0, from); start <= haystack.length - needle.length; start++) {
    for (let index = 0; index < needle.length; index++) {
      if (haystack[start + index] !== needle[index]) continue outer;
    }
    return start;
  }
  return -1;
}

function compareBytes(left, right) {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    if (left[index] !== right[index]) return left[index] < right[index] ? -1 : 1;
  }
  return left.length === right.length ? 0 : left.length < right.length ? -1 : 1;
}

function view(buffer) {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export class Buffer extends Uint8Array {
  static from(value, encodingOrOffset = undefined, length = undefined) {
    if (typeof value === "string") return Buffer._of(encode(value, encodingOrOffset === undefined ? "utf8" : encodingOf(encodingOrOffset)));
    if (value instanceof ArrayBuffer) {
      const offset = encodingOrOffset === undefined ? 0 : Number(encodingOrOffset);
      return new Buffer(value, offset, length === undefined ? value.byteLength - offset : Number(length));
    }
    if (ArrayBuffer.isView(value) || Array.isArray(value)) {
      const copy = new Buffer(value.length);
      copy.set(value instanceof DataView ? toUint8Array(value) : value);
      return copy;
    }
    if (value && value.type === "Buffer" && Array.isArray(value.data)) return Buffer.from(value.data);
    if (value && typeof value === "object" && typeof value.length === "number") return Buffer.from(Array.from(value));
    if (value !== null && value !== undefined && value.valueOf() !== value) return Buffer.from(value.valueOf(), encodingOrOffset, length);
    throw new TypeError(
      "The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.",
    );
  }

  static _of(bytes) {
    return new Buffer(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static alloc(size, fill = undefined, encoding = undefined) {
    const buffer = new Buffer(size);
    if (fill !== undefined && fill !== 0) buffer.fill(fill, 0, buffer.length, encoding);
    return buffer;
  }

  static allocUnsafe(size) {
    return new Buffer(size);
  }

  static allocUnsafeSlow(size) {
    return new Buffer(size);
  }

  static byteLength(value, encoding = undefined) {
    if (typeof value === "string") return encode(value, encodingOf(encoding)).length;
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value.byteLength;
    throw new TypeError("The \"string\" argument must be of type string or an instance of Buffer or ArrayBuffer.");
  }

  static isBuffer(value) {
    return value instanceof Buffer;
  }

  static isEncoding(encoding) {
    return typeof encoding === "string" && ENCODINGS.has(encoding.toLowerCase());
  }

  static concat(list, totalLength = undefined) {
    if (!Array.isArray(list)) throw new TypeError("The \"list\" argument must be an Array of Buffers or Uint8Arrays");
    const length = totalLength ?? list.reduce((sum, item) => sum + item.length, 0);
    const result = Buffer.alloc(length);
    let offset = 0;
    for (const item of list) {
      if (offset >= length) break;
      const bytes = toUint8Array(item).subarray(0, length - offset);
      result.set(bytes, offset);
      offset += bytes.length;
    }
    return result;
  }

  static compare(left, right) {
    return compareBytes(toUint8Array(left), toUint8Array(right));
  }

  toString(encoding = undefined, start = 0, end = this.length) {
    start = Math.max(0, start | 0);
    end = Math.min(this.length, end === undefined ? this.length : end | 0);
    if (end <= start) return "";
    return decode(toUint8Array(this).subarray(start, end), encodingOf(encoding));
  }

  toJSON() {
    return { type: "Buffer", data: Array.from(this) };
  }

  equals(other) {
    if (!(other instanceof Uint8Array)) throw new TypeError("The \"otherBuffer\" argument must be a Buffer or Uint8Array");
    return compareBytes(this, other) === 0;
  }

  compare(target, targetStart = 0, targetEnd = target.length, sourceStart = 0, sourceEnd = this.length) {
    return compareBytes(this.subarray(sourceStart, sourceEnd), toUint8Array(target).subarray(targetStart, targetEnd));
  }

  write(string, offset = 0, length = undefined, encoding = undefined) {
    if (typeof offset === "string") [encoding, offset, length] = [offset, 0, undefined];
    else if (typeof length === "string") [encoding, length] = [length, undefined];
    const bytes = encode(String(string), encodingOf(encoding));
    const count = Math.min(bytes.length, this.length - offset, length ?? Infinity);
    this.set(bytes.subarray(0, count), offset);
    return count;
  }

  slice(start = 0, end = this.length) {
    return this.subarray(start, end);
  }

  copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    const bytes = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(bytes, targetStart);
    return bytes.length;
  }

  fill(value, offset = 0, end = this.length, encoding = undefined) {
    if (typeof offset === "string") [encoding, offset, end] = [offset, 0, this.length];
    else if (typeof end === "string") [encoding, end] = [end, this.length];
    if (typeof value === "number" || typeof value === "boolean") return super.fill(Number(value) & 0xff, offset, end);
    const pattern = typeof value === "string" ? encode(value, encodingOf(encoding)) : toUint8Array(value);
    if (pattern.length === 0) return super.fill(0, offset, end);
    for (let index = offset; index < end; index++) this[index] = pattern[(index - offset) % pattern.length];
    return this;
  }

  indexOf(value, byteOffset = 0, encoding = undefined) {
    if (typeof byteOffset === "string") [encoding, byteOffset] = [byteOffset, 0];
    if (byteOffset < 0) byteOffset = Math.max(0, this.length + byteOffset);
    if (typeof value === "number") return super.indexOf(value & 0xff, byteOffset);
    const needle = typeof value === "string" ? encode(value, encodingOf(encoding)) : toUint8Array(value);
    return indexOfBytes(this, needle, byteOffset);
  }

  includes(value, byteOffset = 0, encoding = undefined) {
    return this.indexOf(value, byteOffset, encoding) !== -1;
  }

  get [Symbol.toStringTag]() {
    return "Uint8Array";
  }
}

// readUInt8 … writeBigInt64LE: Node's fixed-size reads and writes, through a DataView (out of range: RangeError).
const NUMBERS = [
  ["UInt8", 1, "getUint8", "setUint8"], ["Int8", 1, "getInt8", "setInt8"],
  ["UInt16", 2, "getUint16", "setUint16"], ["Int16", 2, "getInt16", "setInt16"],
  ["UInt32", 4, "getUint32", "setUint32"], ["Int32", 4, "getInt32", "setInt32"],
  ["Float", 4, "getFloat32", "setFloat32"], ["Double", 8, "getFloat64", "setFloat64"],
  ["BigUInt64", 8, "getBigUint64", "setBigUint64"], ["BigInt64", 8, "getBigInt64", "setBigInt64"],
];
for (const [name, size, getter, setter] of NUMBERS) {
  const endings = size === 1 ? [["", false]] : [["LE", true], ["BE", false]];
  for (const [suffix, little] of endings) {
    const read = function (offset = 0) {
      return view(this)[getter](offset, little);
    };
    const write = function (value, offset = 0) {
      view(this)[setter](offset, value, little);
      return offset + size;
    };
    for (const alias of new Set([name, name.replace("UInt", "Uint")])) {
      Buffer.prototype[`read${alias}${suffix}`] = read;
      Buffer.prototype[`write${alias}${suffix}`] = write;
    }
  }
}

export const kMaxLength = 2 ** 32 - 1;
export const constants = { MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: 2 ** 29 - 24 };
export const SlowBuffer = Buffer;
const atobGlobal = globalThis.atob;
const btoaGlobal = globalThis.btoa;
export { atobGlobal as atob, btoaGlobal as btoa };
export default { Buffer, SlowBuffer, kMaxLength, constants, atob: atobGlobal, btoa: btoaGlobal };
