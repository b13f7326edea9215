// The native functions engine.c gives the glue, taken off the global object before any worker code runs.
const natives = globalThis.__wws;
delete globalThis.__wws;

export const { random, utf8Encode, utf8Decode } = natives;

// Call the host API (see wws/worker/host.py): throws an Error with the host's reason when it refuses.
export function host(op, args = {}) {
  const answer = JSON.parse(natives.host(JSON.stringify({ op, ...args })));
  if (!answer.ok) throw new Error(answer.error);
  return answer.value;
}
