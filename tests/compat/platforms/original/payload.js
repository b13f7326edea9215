// The original Wasm Workers Server's style (its js-basic, js-json and js-kv examples): a service-worker handler that
// reads `request.body` as a string and keeps it in `Cache`.
const reply = (request) => {
  let parsed;
  try {
    parsed = JSON.parse(request.body);
  } catch (error) {
    parsed = `not JSON (${error.name})`;
  }
  Cache.set("last", request.body);
  const body = JSON.stringify({
    payload: `Payload: ${request.body || "-"}`,
    parsed,
    stored: Cache.get("last"),
    length: request.body ? request.body.length : 0,
    words: request.body ? request.body.split(" ").length : 0,
    upper: request.body ? request.body.toUpperCase() : "",
    concatenated: "[" + request.body + "]",
  });
  return new Response(body, { headers: { "content-type": "application/json" } });
};

addEventListener("fetch", (event) => {
  return event.respondWith(reply(event.request));
});
