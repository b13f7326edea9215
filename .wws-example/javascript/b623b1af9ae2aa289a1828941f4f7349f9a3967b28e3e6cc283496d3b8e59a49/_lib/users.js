// A helper module: folders starting with "_" are not routes; workers beside them import from them.
export function describeUser(id) {
  return { id, name: `user ${id}`, even: Number(id) % 2 === 0 };
}
