// Echoes what the worker sees of the request.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const headers = [...request.headers].filter(([name]) => name.startsWith("x-") || name === "content-type");
    const body = request.method === "GET" || request.method === "HEAD" ? null : await request.text();
    return Response.json({
      method: request.method,
      url: request.url,
      path: url.pathname,
      query: [...url.searchParams],
      headers,
      body,
    }, { headers: { "x-echo": "1" } });
  },
};
