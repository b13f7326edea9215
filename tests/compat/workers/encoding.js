// TextEncoder/TextDecoder, base64, URLSearchParams, structuredClone, crypto shapes.
export default {
  async fetch() {
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    const params = new URLSearchParams("?a=1&b=2&a=3&c=%C3%A9+x&d");
    params.sort();
    const clone = structuredClone({ d: new Date(0), m: new Map([[1, { x: [1, 2] }]]), s: new Set(["a"]) });
    let cloneError;
    try { structuredClone(() => 1); } catch (error) { cloneError = error.name; }
    let btoaError;
    try { btoa("€"); } catch (error) { btoaError = error.name; }
    return Response.json({
      encoded: Array.from(encoder.encode("é€😀 a\ud800b")),
      decoded: decoder.decode(new Uint8Array([0x61, 0xff, 0x62, 0xe2, 0x82, 0xac, 0xf0, 0x9f])),
      bom: decoder.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])),
      into: encoder.encodeInto("héllo", new Uint8Array(3)),
      base64: [btoa("hello\u00ff"), atob("aGVsbG8="), btoaError],
      params: [params.toString(), params.getAll("a"), params.get("c"), params.get("d"), params.size],
      clone: [clone.d.getTime(), clone.m.get(1).x, [...clone.s], cloneError],
      uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
      random: crypto.getRandomValues(new Uint32Array(4)).length,
      json: JSON.stringify({ a: [1, { b: "ü" }], n: 1e21, f: 0.1 + 0.2 }),
    });
  },
};
