// A Cloudflare Workers-style module: `env` holds this worker's [vars] (see hello.toml).
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "world";
    return new Response(`${env.GREETING}, ${name}! (JavaScript, module syntax)`, {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
};
