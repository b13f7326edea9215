// A binary response: a 1x1 PNG built byte by byte, with crypto for a per-request ETag.
const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="),
  (char) => char.charCodeAt(0),
);

export default {
  async fetch() {
    return new Response(PNG, {
      headers: { "content-type": "image/png", etag: `"${crypto.randomUUID()}"`, "cache-control": "no-store" },
    });
  },
};
