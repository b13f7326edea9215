// A catch-all route: /js/docs/a/b/c gives request.params.path = "a/b/c".
export default {
  async fetch(request) {
    const parts = request.params.path.split("/");
    return new Response(`<h1>Docs</h1><p>You asked for ${parts.length} level(s): ${parts.join(" / ")}</p>`, {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  },
};
