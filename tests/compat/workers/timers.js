// Timers, microtasks and promise combinators: the order of events.
export default {
  async fetch() {
    const order = [];
    queueMicrotask(() => order.push("microtask"));
    const timer = new Promise((resolve) => setTimeout(() => { order.push("timeout 10"); resolve(); }, 10));
    setTimeout(() => order.push("timeout 0"), 0);
    const cancelled = setTimeout(() => order.push("cancelled"), 1);
    clearTimeout(cancelled);
    order.push("sync");
    await Promise.resolve().then(() => order.push("then"));
    await timer;
    const settled = await Promise.allSettled([Promise.resolve(1), Promise.reject(new Error("no"))]);
    const raced = await Promise.race([new Promise((r) => setTimeout(() => r("slow"), 20)), new Promise((r) => setTimeout(() => r("fast"), 1))]);
    return Response.json({ order, settled: settled.map((s) => s.status), raced });
  },
};
