// A Node.js module wws does not offer.
import { readFileSync } from "node:fs";

export default {
  async fetch() {
    return new Response(readFileSync("/etc/hostname"));
  },
};
