// Tags the person with the tag of its step's config, and counts the tags given in the KV store.
export default {
  async step(state, env) {
    const tag = state.config.tag;
    const given = Number((await env.KV.get(tag)) ?? 0) + 1;
    await env.KV.put(tag, String(given));
    console.log(`${state.data.name} is tagged ${tag} (${given} so far)`);
    return { ...state.data, tag };
  },
};
