// Cloudflare APIs that wws does not offer: each fails when used, with a message that names it.
export default {
  async fetch(request) {
    const uses = {
      HTMLRewriter: () => new HTMLRewriter().on("a", {}).transform(new Response("<a></a>")),
      WebSocketPair: () => new WebSocketPair(),
      caches: () => caches.default.match(request),
    };
    const name = new URL(request.url).searchParams.get("api");
    try {
      await uses[name]();
      return new Response("no error");
    } catch (error) {
      return new Response(`${error.constructor.name}: ${error.message}`, { status: 501 });
    }
  },
};
