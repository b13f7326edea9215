// crypto: getRandomValues and randomUUID from the host's entropy (WASI random_get: fresh in every request, never
// frozen into the pre-initialised image), and crypto.subtle's digests and HMAC, computed by the host (Python's
// hashlib and hmac), never in JavaScript. Other algorithms reject with NotSupportedError, naming the algorithm.
import { base64ToBytes, base64UrlToBytes, bytesToBase64, bytesToBase64Url, toUint8Array } from "./encoding.js";
import { host, random } from "./natives.js";

const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

function getRandomValues(array) {
  if (!INTEGER_ARRAYS.some((type) => array instanceof type)) {
    throw new TypeError("getRandomValues: the argument must be an integer typed array");
  }
  if (array.byteLength > 65536) {
    throw new RangeError(`getRandomValues: the ArrayBufferView's byte length (${array.byteLength}) exceeds 65536`);
  }
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(random(array.byteLength)));
  return array;
}

function randomUUID() {
  const bytes = new Uint8Array(random(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- crypto.subtle ----------------------------------------------------------------------------------------------

// The digests, with their block size in bits (an HMAC key's default length).
const HASHES = new Map([["SHA-1", 512], ["SHA-256", 512], ["SHA-384", 1024], ["SHA-512", 1024], ["MD5", 512]]);
const KEYS = new WeakMap();

function notSupported(what) {
  return new DOMException(`${what} is not supported by wws (crypto.subtle offers digest, and HMAC keys with sign and verify)`, "NotSupportedError");
}

function algorithmName(algorithm) {
  const name = typeof algorithm === "string" ? algorithm : algorithm?.name;
  if (typeof name !== "string") throw new TypeError("the algorithm must be a string or an object with a name");
  return name.toUpperCase();
}

function hashName(algorithm) {
  const name = algorithmName(algorithm);
  if (!HASHES.has(name)) throw notSupported(`The hash "${name}"`);
  return name;
}

function bufferSource(data, what) {
  try {
    return toUint8Array(data);
  } catch {
    throw new TypeError(`${what} must be an ArrayBuffer or an ArrayBuffer view`);
  }
}

function hmacKey(key, usage) {
  const secret = KEYS.get(key);
  if (!secret) throw new TypeError("the key is not a CryptoKey");
  if (!key.usages.includes(usage)) throw new DOMException(`the key may not be used to ${usage}`, "InvalidAccessError");
  return secret;
}

function hmac(secret, hash, data) {
  const mac = host("crypto.hmac", { hash, key: bytesToBase64(secret), data: bytesToBase64(data) });
  return base64ToBytes(mac);
}

export class CryptoKey {
  #type;
  #extractable;
  #algorithm;
  #usages;
  constructor(secret, algorithm, extractable, usages) {
    if (!(secret instanceof Uint8Array)) throw new TypeError("Illegal constructor");
    this.#type = "secret";
    this.#extractable = Boolean(extractable);
    this.#algorithm = Object.freeze(algorithm);
    this.#usages = Object.freeze([...usages]);
    KEYS.set(this, secret);
  }
  get type() {
    return this.#type;
  }
  get extractable() {
    return this.#extractable;
  }
  get algorithm() {
    return this.#algorithm;
  }
  get usages() {
    return this.#usages;
  }
  get [Symbol.toStringTag]() {
    return "CryptoKey";
  }
}

function makeHmacKey(secret, algorithm, extractable, usages) {
  const hash = hashName(algorithm.hash);
  for (const usage of usages) {
    if (usage !== "sign" && usage !== "verify") throw new SyntaxError(`an HMAC key cannot be used to ${usage}`);
  }
  const length = algorithm.length ?? secret.length * 8;
  return new CryptoKey(secret, { name: "HMAC", hash: { name: hash }, length }, extractable, usages);
}

class SubtleCrypto {
  async digest(algorithm, data) {
    const name = hashName(algorithm);
    const digest = host("crypto.digest", { algorithm: name, data: bytesToBase64(bufferSource(data, "digest: the data")) });
    return base64ToBytes(digest).buffer;
  }

  async importKey(format, keyData, algorithm, extractable, usages) {
    const name = algorithmName(algorithm);
    if (name !== "HMAC") throw notSupported(`importKey with ${name}`);
    if (format === "raw") return makeHmacKey(bufferSource(keyData, "importKey: the key").slice(), algorithm, extractable, usages);
    if (format === "jwk") {
      if (keyData?.kty !== "oct" || typeof keyData.k !== "string") throw new DOMException("a JWK HMAC key needs kty \"oct\" and k", "DataError");
      return makeHmacKey(base64UrlToBytes(keyData.k), algorithm, extractable, usages);
    }
    throw notSupported(`importKey in the "${format}" format`);
  }

  async exportKey(format, key) {
    const secret = KEYS.get(key);
    if (!secret) throw new TypeError("the key is not a CryptoKey");
    if (!key.extractable) throw new DOMException("the key is not extractable", "InvalidAccessError");
    if (format === "raw") return secret.slice().buffer;
    if (format === "jwk") {
      const alg = `HS${key.algorithm.hash.name.slice(4)}`;
      return { kty: "oct", k: bytesToBase64Url(secret), alg, key_ops: [...key.usages], ext: true };
    }
    throw notSupported(`exportKey in the "${format}" format`);
  }

  async generateKey(algorithm, extractable, usages) {
    const name = algorithmName(algorithm);
    if (name !== "HMAC") throw notSupported(`generateKey with ${name}`);
    const bits = algorithm.length ?? HASHES.get(hashName(algorithm.hash));
    return makeHmacKey(new Uint8Array(random(Math.ceil(bits / 8))), algorithm, extractable, usages);
  }

  async sign(algorithm, key, data) {
    const name = algorithmName(algorithm);
    if (name !== "HMAC") throw notSupported(`sign with ${name}`);
    return hmac(hmacKey(key, "sign"), key.algorithm.hash.name, bufferSource(data, "sign: the data")).buffer;
  }

  async verify(algorithm, key, signature, data) {
    const name = algorithmName(algorithm);
    if (name !== "HMAC") throw notSupported(`verify with ${name}`);
    const expected = hmac(hmacKey(key, "verify"), key.algorithm.hash.name, bufferSource(data, "verify: the data"));
    const given = bufferSource(signature, "verify: the signature");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  // Cloudflare's extension: compares two buffers of the same length in time independent of their contents.
  timingSafeEqual(left, right) {
    return timingSafeEqual(left, right);
  }

  async encrypt() {
    throw notSupported("encrypt");
  }
  async decrypt() {
    throw notSupported("decrypt");
  }
  async deriveBits() {
    throw notSupported("deriveBits");
  }
  async deriveKey() {
    throw notSupported("deriveKey");
  }
  async wrapKey() {
    throw notSupported("wrapKey");
  }
  async unwrapKey() {
    throw notSupported("unwrapKey");
  }
}

function timingSafeEqual(left, right) {
  const a = bufferSource(left, "timingSafeEqual: the first argument");
  const b = bufferSource(right, "timingSafeEqual: the second argument");
  if (a.byteLength !== b.byteLength) throw new TypeError("timingSafeEqual: the buffers must have the same length");
  let difference = 0;
  for (let index = 0; index < a.length; index++) difference |= a[index] ^ b[index];
  return difference === 0;
}

export const crypto = { getRandomValues, randomUUID, subtle: new SubtleCrypto() };
