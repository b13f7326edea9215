// ReadableStream, WritableStream and TransformStream (the WHATWG Streams standard, default controllers only), with
// the queuing strategies and TextEncoderStream/TextDecoderStream.
//
// What a self-hosted runtime that answers with whole bodies can honestly offer: a stream given to a Response is read
// to its end before the response leaves (so a stream that never closes ends at the request's deadline), and a
// writer's `ready` never waits (queues grow as needed). BYOB readers are refused with a message naming them.
import { TextDecoder, TextEncoder, toUint8Array } from "./encoding.js";

const STATES = new WeakMap();

function internal(stream) {
  const state = STATES.get(stream);
  if (!state) throw new TypeError("Illegal invocation: not a ReadableStream");
  return state;
}

function endOfStream() {
  return { value: undefined, done: true };
}

// ---- ReadableStream ---------------------------------------------------------------------------------------------

function desiredSize(state) {
  if (state.state === "errored") return null;
  if (state.state === "closed") return 0;
  return state.highWaterMark - state.queueSize;
}

function enqueue(state, chunk) {
  if (state.closeRequested || state.state !== "readable") throw new TypeError("the stream is closed or closing");
  const request = state.requests.shift();
  if (request) {
    request.resolve({ value: chunk, done: false });
  } else {
    const size = state.size ? Number(state.size(chunk)) : 1;
    state.queue.push([chunk, size]);
    state.queueSize += size;
  }
  pull(state);
}

function close(state) {
  if (state.closeRequested || state.state !== "readable") throw new TypeError("the stream is closed or closing");
  state.closeRequested = true;
  if (state.queue.length === 0) finishClose(state);
}

function finishClose(state) {
  state.state = "closed";
  for (const request of state.requests.splice(0)) request.resolve(endOfStream());
  state.reader?._settle();
}

function fail(state, error) {
  if (state.state !== "readable") return;
  state.state = "errored";
  state.error = error;
  state.queue = [];
  state.queueSize = 0;
  for (const request of state.requests.splice(0)) request.reject(error);
  state.reader?._settle();
}

function pull(state) {
  if (!state.started || state.state !== "readable" || state.closeRequested || !state.source.pull) return;
  if (state.requests.length === 0 && !(desiredSize(state) > 0)) return;
  if (state.pulling) {
    state.pullAgain = true;
    return;
  }
  state.pulling = true;
  Promise.resolve()
    .then(() => state.source.pull(state.controller))
    .then(
      () => {
        state.pulling = false;
        if (state.pullAgain) {
          state.pullAgain = false;
          pull(state);
        }
      },
      (error) => fail(state, error),
    );
}

function read(state) {
  state.disturbed = true;
  if (state.queue.length) {
    const [chunk, size] = state.queue.shift();
    state.queueSize -= size;
    if (state.closeRequested && state.queue.length === 0) finishClose(state);
    else pull(state);
    return Promise.resolve({ value: chunk, done: false });
  }
  if (state.state === "closed") return Promise.resolve(endOfStream());
  if (state.state === "errored") return Promise.reject(state.error);
  return new Promise((resolve, reject) => {
    state.requests.push({ resolve, reject });
    pull(state);
  });
}

function cancel(state, reason) {
  state.disturbed = true;
  if (state.state === "closed") return Promise.resolve();
  if (state.state === "errored") return Promise.reject(state.error);
  state.queue = [];
  state.queueSize = 0;
  finishClose(state);
  return Promise.resolve(state.source.cancel?.(reason)).then(() => undefined);
}

export class ReadableStreamDefaultController {
  #state;
  constructor(state) {
    if (!STATES.has(state?.stream)) throw new TypeError("Illegal constructor");
    this.#state = state;
  }
  get desiredSize() {
    return desiredSize(this.#state);
  }
  enqueue(chunk) {
    enqueue(this.#state, chunk);
  }
  close() {
    close(this.#state);
  }
  error(error) {
    fail(this.#state, error);
  }
}

export class ReadableStreamDefaultReader {
  #state;
  #closed;
  #settleClosed;
  constructor(stream) {
    const state = internal(stream);
    if (state.reader) throw new TypeError("ReadableStream is locked: it already has a reader");
    this.#state = state;
    state.reader = this;
    this.#closed = new Promise((resolve, reject) => {
      this.#settleClosed = { resolve, reject };
    });
    this.#closed.catch(() => {});
    if (state.state !== "readable") this._settle();
  }
  _settle() {
    const state = this.#state;
    if (state.state === "closed") this.#settleClosed.resolve(undefined);
    else if (state.state === "errored") this.#settleClosed.reject(state.error);
  }
  get closed() {
    return this.#closed;
  }
  read() {
    if (!this.#state) return Promise.reject(new TypeError("the reader has been released"));
    return read(this.#state);
  }
  cancel(reason) {
    if (!this.#state) return Promise.reject(new TypeError("the reader has been released"));
    return cancel(this.#state, reason);
  }
  releaseLock() {
    const state = this.#state;
    if (!state) return;
    const released = new TypeError("the reader was released");
    for (const request of state.requests.splice(0)) request.reject(released);
    if (state.state === "readable") this.#settleClosed.reject(released);
    state.reader = null;
    this.#state = null;
  }
}

export class ReadableStream {
  constructor(source = undefined, strategy = undefined) {
    source = source ?? {};
    if (source.type !== undefined && source.type !== "bytes") {
      throw new RangeError(`ReadableStream: unknown source type "${source.type}"`);
    }
    const state = {
      stream: this,
      state: "readable",
      queue: [],
      queueSize: 0,
      requests: [],
      reader: null,
      source,
      highWaterMark: strategy?.highWaterMark ?? (source.type === "bytes" ? 0 : 1),
      size: strategy?.size,
      started: false,
      pulling: false,
      pullAgain: false,
      closeRequested: false,
      disturbed: false,
      error: undefined,
    };
    STATES.set(this, state);
    state.controller = new ReadableStreamDefaultController(state);
    Promise.resolve(source.start?.(state.controller)).then(
      () => {
        state.started = true;
        pull(state);
      },
      (error) => fail(state, error),
    );
  }

  static from(iterable) {
    const iterator = iterable?.[Symbol.asyncIterator]?.() ?? iterable?.[Symbol.iterator]?.();
    if (!iterator) throw new TypeError("ReadableStream.from: the argument is not iterable");
    return new ReadableStream(
      {
        async pull(controller) {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        async cancel(reason) {
          await iterator.return?.(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  get locked() {
    return internal(this).reader !== null;
  }

  // Whether it has been read from or cancelled (a disturbed stream cannot become a body).
  get _disturbed() {
    return internal(this).disturbed;
  }

  getReader(options = undefined) {
    if (options?.mode === "byob") {
      throw new TypeError("ReadableStream: BYOB readers (getReader({ mode: \"byob\" })) are not supported by wws");
    }
    if (options?.mode !== undefined) throw new RangeError(`getReader: unknown mode "${options.mode}"`);
    return new ReadableStreamDefaultReader(this);
  }

  cancel(reason = undefined) {
    const state = internal(this);
    if (state.reader) return Promise.reject(new TypeError("cannot cancel a locked ReadableStream"));
    return cancel(state, reason);
  }

  tee() {
    const reader = this.getReader();
    const branches = [];
    const controllers = [];
    const cancelled = [false, false];
    let reading = null;
    const cancelReasons = [];
    const pullBoth = () => {
      reading ??= reader.read().then(
        ({ value, done }) => {
          reading = null;
          for (let index = 0; index < 2; index++) {
            if (cancelled[index]) continue;
            if (done) controllers[index].close();
            else controllers[index].enqueue(value);
          }
        },
        (error) => {
          for (const controller of controllers) controller.error(error);
        },
      );
      return reading;
    };
    for (let index = 0; index < 2; index++) {
      branches.push(
        new ReadableStream(
          {
            start(controller) {
              controllers[index] = controller;
            },
            pull: pullBoth,
            cancel(reason) {
              cancelled[index] = true;
              cancelReasons[index] = reason;
              if (cancelled[0] && cancelled[1]) return reader.cancel(cancelReasons);
              return undefined;
            },
          },
          { highWaterMark: 0 },
        ),
      );
    }
    return branches;
  }

  async pipeTo(destination, options = {}) {
    if (!(destination instanceof WritableStream)) throw new TypeError("pipeTo: the destination is not a WritableStream");
    const reader = this.getReader();
    const writer = destination.getWriter();
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (!options.preventAbort) await writer.abort(error);
          throw error;
        }
        if (chunk.done) break;
        try {
          await writer.write(chunk.value);
        } catch (error) {
          if (!options.preventCancel) await reader.cancel(error);
          throw error;
        }
      }
      if (!options.preventClose) await writer.close();
    } finally {
      reader.releaseLock();
      writer.releaseLock();
    }
  }

  pipeThrough(transform, options = {}) {
    const { writable, readable } = transform ?? {};
    if (!(writable instanceof WritableStream) || !(readable instanceof ReadableStream)) {
      throw new TypeError("pipeThrough: expected { writable, readable } (a TransformStream)");
    }
    this.pipeTo(writable, options).catch(() => {});
    return readable;
  }

  async *values(options = {}) {
    const reader = this.getReader();
    let finished = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          finished = true;
          return;
        }
        yield value;
      }
    } catch (error) {
      finished = true;
      throw error;
    } finally {
      if (!finished && !options.preventCancel) await reader.cancel();
      reader.releaseLock();
    }
  }

  [Symbol.asyncIterator](options = {}) {
    return this.values(options);
  }

  get [Symbol.toStringTag]() {
    return "ReadableStream";
  }
}

// Everything a stream gives until it closes, as one Uint8Array (strings are UTF-8 encoded).
export async function readAllBytes(stream) {
  if (stream.locked) throw new TypeError("the body's ReadableStream is locked (a reader holds it)");
  if (stream._disturbed) throw new TypeError("the body's ReadableStream has already been read");
  const chunks = [];
  let length = 0;
  const encoder = new TextEncoder();
  for await (const chunk of stream) {
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : toUint8Array(chunk);
    chunks.push(bytes);
    length += bytes.length;
  }
  if (chunks.length === 1) return chunks[0].slice();
  const all = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

// ---- WritableStream ---------------------------------------------------------------------------------------------

export class WritableStream {
  #sink;
  #state = "writable";
  #error;
  #writer = null;
  #chain;
  #closed;
  #controller;
  #settleClosed;

  constructor(sink = undefined, strategy = undefined) {
    this.#sink = sink ?? {};
    void strategy;
    this.#controller = { error: (error) => this.#fail(error), signal: undefined };
    let settle;
    this.#closed = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#closed.catch(() => {});
    this.#settleClosed = settle;
    this.#chain = Promise.resolve()
      .then(() => this.#sink.start?.(this.#controller))
      .catch((error) => this.#fail(error));
  }

  #fail(error) {
    if (this.#state === "errored" || this.#state === "closed") return;
    this.#state = "errored";
    this.#error = error;
    this.#settleClosed.reject(error);
  }

  #enqueue(step) {
    const result = this.#chain.then(() => {
      if (this.#state === "errored") throw this.#error;
      return step();
    });
    this.#chain = result.catch((error) => this.#fail(error));
    return result.then(() => undefined);
  }

  get locked() {
    return this.#writer !== null;
  }

  getWriter() {
    if (this.#writer) throw new TypeError("WritableStream is locked: it already has a writer");
    this.#writer = new WritableStreamDefaultWriter(this);
    return this.#writer;
  }

  _write(chunk) {
    if (this.#state !== "writable") {
      return Promise.reject(this.#state === "errored" ? this.#error : new TypeError("the stream is closed or closing"));
    }
    return this.#enqueue(() => this.#sink.write?.(chunk, this.#controller));
  }

  _close() {
    if (this.#state !== "writable") {
      return Promise.reject(this.#state === "errored" ? this.#error : new TypeError("the stream is closed or closing"));
    }
    this.#state = "closing";
    return this.#enqueue(async () => {
      await this.#sink.close?.();
      this.#state = "closed";
      this.#settleClosed.resolve(undefined);
    });
  }

  async _abort(reason) {
    if (this.#state === "closed" || this.#state === "errored") return;
    this.#fail(reason);
    await this.#sink.abort?.(reason);
  }

  _closedPromise() {
    return this.#closed;
  }

  _release() {
    this.#writer = null;
  }

  close() {
    if (this.#writer) return Promise.reject(new TypeError("cannot close a locked WritableStream"));
    return this._close();
  }

  abort(reason = undefined) {
    if (this.#writer) return Promise.reject(new TypeError("cannot abort a locked WritableStream"));
    return this._abort(reason);
  }

  get [Symbol.toStringTag]() {
    return "WritableStream";
  }
}

export class WritableStreamDefaultWriter {
  #stream;
  constructor(stream) {
    this.#stream = stream;
  }
  #live() {
    if (!this.#stream) throw new TypeError("the writer has been released");
    return this.#stream;
  }
  get closed() {
    return this.#stream ? this.#stream._closedPromise() : Promise.reject(new TypeError("the writer has been released"));
  }
  get ready() {
    return Promise.resolve();
  }
  get desiredSize() {
    return 1;
  }
  write(chunk) {
    try {
      return this.#live()._write(chunk);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  close() {
    try {
      return this.#live()._close();
    } catch (error) {
      return Promise.reject(error);
    }
  }
  abort(reason = undefined) {
    try {
      return this.#live()._abort(reason);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  releaseLock() {
    this.#stream?._release();
    this.#stream = null;
  }
}

// ---- TransformStream --------------------------------------------------------------------------------------------

export class TransformStream {
  #readable;
  #writable;

  constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
    transformer = transformer ?? {};
    let output;
    this.#readable = new ReadableStream(
      {
        start(controller) {
          output = controller;
        },
        cancel: (reason) => transformer.cancel?.(reason),
      },
      readableStrategy ?? { highWaterMark: 0 },
    );
    let terminated = false;
    const controller = {
      enqueue: (chunk) => output.enqueue(chunk),
      error: (error) => {
        output.error(error);
        terminated = true;
      },
      terminate: () => {
        if (!terminated) output.close();
        terminated = true;
      },
      get desiredSize() {
        return output.desiredSize;
      },
    };
    this.#writable = new WritableStream(
      {
        start: () => transformer.start?.(controller),
        write: (chunk) => (transformer.transform ? transformer.transform(chunk, controller) : controller.enqueue(chunk)),
        close: async () => {
          await transformer.flush?.(controller);
          controller.terminate();
        },
        abort: (reason) => controller.error(reason),
      },
      writableStrategy,
    );
  }

  get readable() {
    return this.#readable;
  }

  get writable() {
    return this.#writable;
  }

  get [Symbol.toStringTag]() {
    return "TransformStream";
  }
}

// A TransformStream seen as its two ends (TextEncoderStream and TextDecoderStream are such pairs).
class TransformPair {
  #stream;
  constructor(transformer) {
    this.#stream = new TransformStream(transformer);
  }
  get readable() {
    return this.#stream.readable;
  }
  get writable() {
    return this.#stream.writable;
  }
}

export class TextEncoderStream extends TransformPair {
  constructor() {
    const encoder = new TextEncoder();
    let pending = ""; // a high surrogate whose pair is in the next chunk
    super({
      transform(chunk, controller) {
        let text = pending + String(chunk);
        pending = "";
        const last = text.charCodeAt(text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          pending = text.slice(-1);
          text = text.slice(0, -1);
        }
        if (text) controller.enqueue(encoder.encode(text));
      },
      flush(controller) {
        if (pending) controller.enqueue(encoder.encode(pending));
      },
    });
  }
  get encoding() {
    return "utf-8";
  }
}

export class TextDecoderStream extends TransformPair {
  #decoder;
  constructor(label = "utf-8", options = {}) {
    const decoder = new TextDecoder(label, options);
    super({
      transform(chunk, controller) {
        const text = decoder.decode(chunk, { stream: true });
        if (text) controller.enqueue(text);
      },
      flush(controller) {
        const text = decoder.decode();
        if (text) controller.enqueue(text);
      },
    });
    this.#decoder = decoder;
  }
  get encoding() {
    return this.#decoder.encoding;
  }
  get fatal() {
    return this.#decoder.fatal;
  }
  get ignoreBOM() {
    return this.#decoder.ignoreBOM;
  }
}

class QueuingStrategy {
  #highWaterMark;
  constructor({ highWaterMark }) {
    this.#highWaterMark = highWaterMark;
  }
  get highWaterMark() {
    return this.#highWaterMark;
  }
}

export class CountQueuingStrategy extends QueuingStrategy {
  get size() {
    return () => 1;
  }
}

export class ByteLengthQueuingStrategy extends QueuingStrategy {
  get size() {
    return (chunk) => chunk.byteLength;
  }
}
