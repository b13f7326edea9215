// Outbound HTTP: fetch() is carried out by the host, only to the hosts fetch.toml allows.
export default {
  async fetch(request, env) {
    const response = await fetch(`${env.ORIGIN}/js/hello?name=fetch`);
    return Response.json({ status: response.status, body: await response.text() });
  },
};
