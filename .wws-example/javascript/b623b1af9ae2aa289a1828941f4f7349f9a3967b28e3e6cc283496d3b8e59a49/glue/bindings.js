// Storage bindings: the KV namespace in `env` (Cloudflare's KV API, each call a host call), and `Cache`, the
// key/value object of the original Wasm Workers Server: it reads the namespace through host calls, keeps its writes
// until the request succeeds, then applies them at once (`kv.apply`); a request that fails changes nothing.
import { host } from "./natives.js";

export class KVNamespace {
  async get(key, options = undefined) {
    const type = typeof options === "string" ? options : options?.type ?? "text";
    const value = host("kv.get", { key: String(key) });
    if (value === null) return null;
    if (type === "json") return JSON.parse(value);
    if (type === "arrayBuffer") return new TextEncoder().encode(value).buffer;
    if (type === "text") return value;
    throw new TypeError(`KV get: unsupported type "${type}" (use "text", "json" or "arrayBuffer")`);
  }

  async getWithMetadata(key, options = undefined) {
    return { value: await this.get(key, options), metadata: null };
  }

  async put(key, value, options = undefined) {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) value = new TextDecoder().decode(value);
    if (typeof value !== "string") throw new TypeError("KV put: the value must be a string, an ArrayBuffer or a view");
    host("kv.put", { key: String(key), value });
  }

  async delete(key) {
    host("kv.delete", { key: String(key) });
  }

  async list(options = {}) {
    const names = host("kv.list", { prefix: String(options?.prefix ?? "") }).sort();
    const start = options?.cursor ? Number(options.cursor) || 0 : 0;
    const limit = Math.max(1, Math.min(1000, Number(options?.limit ?? 1000) || 1000));
    const page = names.slice(start, start + limit);
    const complete = start + limit >= names.length;
    return { keys: page.map((name) => ({ name })), list_complete: complete, cursor: complete ? "" : String(start + limit) };
  }
}

let writes = new Map();
let hasNamespace = false;

export const Cache = {
  get(key) {
    key = String(key);
    if (writes.has(key)) return writes.get(key);
    return hasNamespace ? host("kv.get", { key }) : null;
  },
  set(key, value) {
    writes.set(String(key), value === null || value === undefined ? null : String(value));
  },
  delete(key) {
    writes.set(String(key), null);
  },
};

// A request begins: no writes yet; without a KV namespace, `Cache` is empty and its writes go nowhere.
export function resetCache(namespace) {
  writes = new Map();
  hasNamespace = namespace;
}

// The request succeeded: apply its writes (null deletes a key).
export function flushCache() {
  if (hasNamespace && writes.size) host("kv.apply", { changes: Object.fromEntries(writes) });
  writes = new Map();
}
