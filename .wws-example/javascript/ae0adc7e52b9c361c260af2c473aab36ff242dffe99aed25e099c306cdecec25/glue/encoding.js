// TextEncoder and TextDecoder (UTF-8, as in Workers), atob/btoa helpers for bytes.
import { utf8Decode, utf8Encode } from "./natives.js";

const UTF8_LABELS = new Set(["utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"]);

export class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    return utf8Encode(String(input));
  }
  encodeInto(source, destination) {
    const bytes = utf8Encode(String(source));
    let written = bytes.length;
    if (written > destination.length) {
      written = destination.length;
      while (written > 0 && (bytes[written] & 0xc0) === 0x80) written--;
    }
    destination.set(bytes.subarray(0, written));
    let read = 0;
    for (let index = 0; index < written; ) {
      const lead = bytes[index];
      const size = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
      read += size === 4 ? 2 : 1;
      index += size;
    }
    return { read, written };
  }
  get [Symbol.toStringTag]() {
    return "TextEncoder";
  }
}

const EMPTY = new Uint8Array(0);

// How many bytes of `bytes` end on a whole UTF-8 sequence (an incomplete one at the end is left out).
function completeLength(bytes) {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) === 0x80) continue;
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return size > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

export class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = EMPTY;
  #streaming = false;
  constructor(label = "utf-8", options = {}) {
    if (!UTF8_LABELS.has(String(label).trim().toLowerCase())) {
      throw new RangeError(`The "${label}" encoding is not supported`);
    }
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  // With `{ stream: true }`, an incomplete UTF-8 sequence at the end waits for the next call (TextDecoderStream).
  decode(input = new Uint8Array(0), options = {}) {
    let bytes = toUint8Array(input);
    if (this.#pending.length) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = EMPTY;
    }
    if (options?.stream) {
      const cut = completeLength(bytes);
      this.#pending = bytes.slice(cut);
      bytes = bytes.subarray(0, cut);
    }
    const ignoreBOM = this.#ignoreBOM || this.#streaming;
    this.#streaming = Boolean(options?.stream);
    return utf8Decode(bytes, this.#fatal, ignoreBOM);
  }
  get [Symbol.toStringTag]() {
    return "TextDecoder";
  }
}

// A Uint8Array view of any BufferSource, without copying.
export function toUint8Array(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("expected an ArrayBuffer or an ArrayBuffer view");
}

export function bytesToBase64(bytes) {
  let binary = "";
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}

export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

export function bytesToBase64Url(bytes) {
  return bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Base64 in either alphabet (+/ or -_), padded or not.
export function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return base64ToBytes(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
}

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();
