// structuredClone: deep copies of plain data (objects, arrays, Date, RegExp, Map, Set, ArrayBuffer and views,
// Error, boxed primitives), keeping shared and circular references; functions and symbols throw DataCloneError.
const TYPED_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

function fail(what) {
  throw new DOMException(`${what} could not be cloned.`, "DataCloneError");
}

function cloneValue(value, seen) {
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) return value;
  if (typeof value === "function") fail(String(value).slice(0, 40));
  if (typeof value === "symbol") fail(String(value));
  if (seen.has(value)) return seen.get(value);
  const remember = (copy) => (seen.set(value, copy), copy);
  if (value instanceof Date) return remember(new Date(value.getTime()));
  if (value instanceof RegExp) return remember(new RegExp(value.source, value.flags));
  if (value instanceof Boolean || value instanceof Number || value instanceof String) return remember(Object(value.valueOf()));
  if (value instanceof ArrayBuffer) return remember(value.slice(0));
  if (value instanceof DataView) {
    return remember(new DataView(cloneValue(value.buffer, seen), value.byteOffset, value.byteLength));
  }
  for (const type of TYPED_ARRAYS) {
    if (value instanceof type) return remember(new type(cloneValue(value.buffer, seen), value.byteOffset, value.length));
  }
  if (value instanceof Map) {
    const copy = remember(new Map());
    for (const [key, item] of value) copy.set(cloneValue(key, seen), cloneValue(item, seen));
    return copy;
  }
  if (value instanceof Set) {
    const copy = remember(new Set());
    for (const item of value) copy.add(cloneValue(item, seen));
    return copy;
  }
  if (value instanceof Error) {
    const type = ERRORS[value.name] || Error;
    const copy = remember(new type(value.message));
    if (value.stack !== undefined) copy.stack = String(value.stack);
    if ("cause" in value) copy.cause = cloneValue(value.cause, seen);
    return copy;
  }
  if (Array.isArray(value)) {
    const copy = remember(new Array(value.length));
    for (const key of Object.keys(value)) copy[key] = cloneValue(value[key], seen);
    return copy;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) fail(Object.prototype.toString.call(value));
  const copy = remember({});
  for (const key of Object.keys(value)) copy[key] = cloneValue(value[key], seen);
  return copy;
}

export function structuredClone(value, options = undefined) {
  if (options?.transfer?.length) throw new DOMException("structuredClone: transfer is not supported", "DataCloneError");
  return cloneValue(value, new Map());
}
