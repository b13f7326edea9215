// Cloudflare's "Accessing the Cloudflare Object" example, plus a location lookup as handlers write it.
export default {
  async fetch(request) {
    const data =
      request.cf !== undefined ? request.cf : { error: "The `cf` object is not available inside the preview." };
    const country = request.cf.country;
    return new Response(JSON.stringify({ cf: data, country: country === undefined ? "undefined" : country }, null, 2), {
      headers: { "content-type": "application/json;charset=UTF-8" },
    });
  },
};
