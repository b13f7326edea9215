// setTimeout/setInterval and their clear functions. Timers run inside the request that set them: engine.c asks
// runTimers() for the next delay, sleeps, and runs the due ones, until the handler's promise settles.
let nextId = 1;
const timers = new Map(); // id -> { due, callback, args, interval }

function add(callback, delay, args, interval) {
  if (typeof callback !== "function") throw new TypeError("The callback must be a function");
  const id = nextId++;
  const wait = Math.max(0, Number(delay) || 0);
  timers.set(id, { due: performance.now() + wait, callback, args, interval: interval ? Math.max(1, wait) : 0 });
  return id;
}

export const setTimeout = (callback, delay = 0, ...args) => add(callback, delay, args, false);
export const setInterval = (callback, delay = 0, ...args) => add(callback, delay, args, true);
export const clearTimeout = (id) => void timers.delete(Number(id));
export const clearInterval = clearTimeout;

// Run the timers that are due; return the delay in ms until the next one, or -1 when none is left.
export function runTimers() {
  const now = performance.now();
  for (const [id, timer] of [...timers].sort((a, b) => a[1].due - b[1].due)) {
    if (timer.due > now) break;
    if (!timers.has(id)) continue;
    if (timer.interval) timer.due = now + timer.interval;
    else timers.delete(id);
    timer.callback(...timer.args);
    return 0; // let the microtasks this callback queued run first
  }
  if (timers.size === 0) return -1;
  let next = Infinity;
  for (const timer of timers.values()) next = Math.min(next, timer.due);
  return Math.max(0, next - performance.now());
}

// Forget every timer (a new request on a warm instance starts with none).
export function clearTimers() {
  timers.clear();
}
