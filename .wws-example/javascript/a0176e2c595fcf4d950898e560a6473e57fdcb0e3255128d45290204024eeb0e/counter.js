// A KV namespace (counter.toml) through the Workers KV API: env.COUNTER.get/put/list/delete.
export default {
  async fetch(request, env) {
    const visits = Number((await env.COUNTER.get("js-visits")) ?? 0) + 1;
    await env.COUNTER.put("js-visits", String(visits));
    return Response.json({ visits });
  },
};
