// The service-worker syntax, with a text binding as a global.
addEventListener("fetch", (event) => {
  event.respondWith(reply(event.request));
});

async function reply(request) {
  const url = new URL(request.url);
  return new Response(`${GREETING}, ${url.searchParams.get("name") || "world"} (${request.method})`, {
    headers: { "content-type": "text/plain; charset=utf-8", "x-style": "service-worker" },
  });
}
