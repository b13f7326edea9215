// Without nodejs_compat there is no Buffer global (as on Cloudflare), but node:buffer still imports.
import { Buffer as Imported } from "node:buffer";

export default {
  async fetch() {
    return Response.json({ global: typeof Buffer, imported: Imported.from("hi").toString("hex") });
  },
};
