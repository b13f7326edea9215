// Headers semantics, and a response that carries several Set-Cookie headers.
export default {
  async fetch() {
    const h = new Headers([["Set-Cookie", "a=1"], ["X-B", "2"], ["set-cookie", "b=2"], ["Accept", "x"]]);
    h.append("accept", "y");
    h.set("X-C", "  padded  ");
    const results = {
      accept: h.get("ACCEPT"),
      cookies: h.getSetCookie(),
      joinedCookies: h.get("set-cookie"),
      entries: [...h],
      has: [h.has("x-b"), h.has("nope")],
      missing: h.get("nope"),
    };
    h.delete("x-b");
    results.afterDelete = [...h.keys()];
    const response = Response.json(results, { headers: { "X-Custom": "yes" } });
    response.headers.append("Set-Cookie", "session=abc; Path=/; HttpOnly");
    response.headers.append("Set-Cookie", "theme=dark");
    return response;
  },
};
