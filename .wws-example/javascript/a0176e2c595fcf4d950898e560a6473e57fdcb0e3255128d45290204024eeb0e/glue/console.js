// console.* to the worker's log, with the level the method implies and values formatted as Node and Workers do.
import { host } from "./natives.js";

function format(value, depth = 0, seen = new Set()) {
  if (typeof value === "string") return depth ? JSON.stringify(value) : value;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  if (typeof value === "function") return `[Function: ${value.name || "(anonymous)"}]`;
  if (value instanceof Error) return value.stack ? `${value}\n${value.stack}`.trimEnd() : String(value);
  if (seen.has(value)) return "[Circular]";
  if (depth > 2) return Array.isArray(value) ? "[Array]" : "[Object]";
  seen.add(value);
  try {
    if (Array.isArray(value)) return `[ ${value.map((item) => format(item, depth + 1, seen)).join(", ")} ]`;
    if (value instanceof Date) return value.toISOString();
    if (value instanceof Map) return `Map(${value.size}) { ${[...value].map(([k, v]) => `${format(k, depth + 1, seen)} => ${format(v, depth + 1, seen)}`).join(", ")} }`;
    if (value instanceof Set) return `Set(${value.size}) { ${[...value].map((item) => format(item, depth + 1, seen)).join(", ")} }`;
    if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.length}) [ ${Array.from(value).join(", ")} ]`;
    const tag = value[Symbol.toStringTag];
    const entries = Object.keys(value).map((key) => `${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: ${format(value[key], depth + 1, seen)}`);
    const body = entries.length ? `{ ${entries.join(", ")} }` : "{}";
    return tag ? `${tag} ${body}` : body;
  } finally {
    seen.delete(value);
  }
}

function formatArgs(args) {
  if (typeof args[0] === "string" && /%[sdifjoO%]/.test(args[0])) {
    let index = 1;
    const first = args[0].replace(/%([sdifjoO%])/g, (match, kind) => {
      if (kind === "%") return "%";
      if (index >= args.length) return match;
      const value = args[index++];
      if (kind === "s") return typeof value === "string" ? value : format(value, 1);
      if (kind === "d" || kind === "i") return String(kind === "i" ? parseInt(value) : Number(value));
      if (kind === "f") return String(parseFloat(value));
      if (kind === "j") return JSON.stringify(value);
      return format(value, 1);
    });
    args = [first, ...args.slice(index)];
  }
  return args.map((value) => format(value)).join(" ");
}

const write = (level) => (...args) => {
  try {
    host("log", { level, message: formatArgs(args) });
  } catch {
    // a log line that cannot be written must not fail the request
  }
};

const counts = new Map();
const started = new Map();

export const console = {
  log: write("info"),
  info: write("info"),
  debug: write("debug"),
  trace: write("debug"),
  warn: write("warning"),
  error: write("error"),
  assert(condition, ...args) {
    if (!condition) write("error")("Assertion failed" + (args.length ? ": " + formatArgs(args) : ""));
  },
  count(label = "default") {
    counts.set(label, (counts.get(label) || 0) + 1);
    write("info")(`${label}: ${counts.get(label)}`);
  },
  countReset(label = "default") {
    counts.delete(label);
  },
  time(label = "default") {
    started.set(label, performance.now());
  },
  timeEnd(label = "default") {
    if (started.has(label)) write("info")(`${label}: ${(performance.now() - started.get(label)).toFixed(3)}ms`);
    started.delete(label);
  },
  timeLog(label = "default", ...args) {
    if (started.has(label)) write("info")(`${label}: ${(performance.now() - started.get(label)).toFixed(3)}ms`, ...args);
  },
  table: write("info"),
  dir: write("info"),
  group() {},
  groupEnd() {},
};
