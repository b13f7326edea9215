// crypto.subtle algorithms other than digests and HMAC reject with NotSupportedError, naming the algorithm.
export default {
  async fetch() {
    try {
      await crypto.subtle.importKey("raw", new Uint8Array(16), { name: "AES-GCM" }, false, ["encrypt"]);
      return new Response("no error");
    } catch (error) {
      return new Response(`${error.name}: ${error.message}`, { status: 501 });
    }
  },
};
