// Response constructors and statuses.
export default {
  async fetch(request) {
    const path = "/" + new URL(request.url).pathname.split("/").pop();
    switch (path) {
      case "/json": return Response.json({ ok: true, list: [1, "two", null] }, { status: 201 });
      case "/redirect": return Response.redirect("https://example.com/elsewhere?x=1", 307);
      case "/teapot": return new Response("short and stout", { status: 418, headers: { "content-type": "text/plain" } });
      case "/binary": return new Response(new Uint8Array([0, 1, 2, 253, 254, 255]));
      case "/buffer": return new Response(new TextEncoder().encode("from a buffer").buffer);
      case "/empty": return new Response(null, { status: 204 });
      case "/text": return new Response("plain text");
      case "/search": return new Response(new URLSearchParams({ a: "1", b: "two words" }));
      case "/clone": { const r = new Response("twice"); const c = r.clone(); return new Response(`${await r.text()} ${await c.text()}`); }
      case "/throw": throw new Error("boom");
      case "/reject": return Promise.reject(new Error("rejected"));
      default: return new Response("not found", { status: 404 });
    }
  },
};
