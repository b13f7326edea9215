// Run before the worker's module when its config sets `compatibility_flags = ["nodejs_compat"]`: the Node.js
// globals Cloudflare's nodejs_compat adds (here `Buffer`).
import { Buffer } from "./node-buffer.js";

globalThis.Buffer = Buffer;
