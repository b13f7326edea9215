// crypto.getRandomValues and crypto.randomUUID, from the host's entropy (WASI random_get): fresh in every request,
// never frozen into the pre-initialised image.
import { random } from "./natives.js";

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

export const crypto = { getRandomValues, randomUUID };
