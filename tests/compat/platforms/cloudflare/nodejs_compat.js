// With `compatibility_flags = ["nodejs_compat"]` (as in wrangler.toml), Buffer is a global, as on Cloudflare.
export default {
  async fetch(request) {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    return new Response(Buffer.from(`hello ${name}`).toString("base64"));
  },
};
