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

export class TextDecoder {
  #fatal;
  #ignoreBOM;
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
  decode(input = new Uint8Array(0), options = {}) {
    if (options.stream) throw new TypeError("TextDecoder: streaming decode is not supported");
    return utf8Decode(toUint8Array(input), this.#fatal, this.#ignoreBOM);
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

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();
