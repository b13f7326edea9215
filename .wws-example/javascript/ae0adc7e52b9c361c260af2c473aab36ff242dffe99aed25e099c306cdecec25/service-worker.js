// The service-worker syntax, as in the original Wasm Workers Server and older Cloudflare Workers.
addEventListener("fetch", (event) => {
  event.respondWith(reply(event.request));
});

async function reply(request) {
  return Response.json({ style: "service-worker", method: request.method, path: new URL(request.url).pathname });
}
