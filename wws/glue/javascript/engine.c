/* The guest side of the JavaScript runtime: QuickJS-NG plus the few native functions its glue needs.
 *
 * Compiled together with QuickJS-NG's sources into one WASI reactor (see scripts/build-quickjs.sh). The host calls
 *   wws_init()    once per worker version: creates the engine, runs glue/runtime.js, the glue modules named in argv[1…]
 *                 (nodejs_compat's globals) and the worker's module (named
 *                 by argv[0], read from the read-only /src folder), then the host snapshots the memory;
 *   wws_handle()  once per request, on a fresh copy of that snapshot (or on a warm instance): reads the request JSON,
 *                 runs the handler and its promises and timers, and leaves the response JSON for the host.
 * Both return 0 on success; on failure they write the JavaScript error and its stack to stderr and return 1.
 *
 * The request and the response cross in memory (`wws_io()`, see `struct io`): the host writes the request into an
 * area the engine set aside, and reads the response where the engine left it. No host function runs for either: the
 * stdio a guest would otherwise read and write costs a host call each way. A request too large for the area is read
 * from stdin instead.
 *
 * quickjs.c is included rather than linked so that the per-request reseeding of Math.random and the origin of
 * performance.now() can reach the context's fields: a snapshot would otherwise freeze both.
 */
#include "quickjs.c"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define WWS_IMPORT(name) __attribute__((import_module("wws"), import_name(name)))
#define WWS_EXPORT(name) __attribute__((export_name(name)))

/* The host API (KV, outbound HTTP, logs, config): JSON in, JSON out. See wws/sandbox/hostcalls.py. */
WWS_IMPORT("host_call") int32_t wws_host_call(const char *message, int32_t length);
WWS_IMPORT("host_result") int32_t wws_host_result(char *answer, int32_t length);

#define SOURCE_ROOT "/src/"
#define GLUE_ENTRY "glue/runtime.js"
#define NODE_PREFIX "node:"
#define NODE_GLUE "glue/node-"
#define STACK_MARGIN (512 * 1024) /* below QuickJS's limit: unchecked C frames, and wasmtime's 2 MiB native stack
                                    (about 3 native bytes per linear byte) must not run out first */
#define GC_HEADROOM (8 * 1024 * 1024) /* a short request never collects: a cycle walks (and so copies) every page */
#define HEAP_HEADROOM (128 * 1024) /* free heap left in the image, so that a short request allocates without growing
                                      the memory (an instance that grew is dropped, not recycled): without it, how
                                      much room a request finds depends on where the glue's last object happened to
                                      end */
#define MAX_SLEEP_MS 1e9          /* about 11 days: longer waits are cut to it (the host's deadline comes first) */

#define REQUEST_AREA (16 * 1024) /* most requests fit (a hello's is 300 bytes); larger ones come through stdin */
#define FROM_STDIN UINT32_MAX

static JSRuntime *rt;
static JSContext *ctx;
static JSValue handle_fn, timers_fn;

/* What the host and the engine exchange around each call, at the address `wws_io()` returns (the same in every
 * instance of an image). Before the call, the host sets `request_length` (FROM_STDIN: read stdin) and `now_ns`
 * (its monotonic clock, the origin of performance.now(); 0: read the clock); after it, it reads the response. */
static struct io {
    uint32_t request;          /* the request area, REQUEST_AREA bytes, allocated by wws_init */
    uint32_t request_capacity;
    uint32_t request_length;
    uint32_t response;         /* the response JSON (valid until the next call) */
    uint32_t response_length;
    uint32_t reserved;
    uint64_t now_ns;
} io = {0, 0, FROM_STDIN, 0, 0, 0, 0};
static const char *pending_response; /* freed when the next call starts */

WWS_EXPORT("wws_io") uint32_t wws_io(void) {
    return (uint32_t)(uintptr_t)&io;
}

/* ---- small helpers -------------------------------------------------------------------------------------------- */

static char *read_all(int fd, size_t *length) {
    size_t size = 0, capacity = 4096;
    char *buffer = malloc(capacity + 1);
    for (;;) {
        if (!buffer)
            return NULL;
        if (size == capacity) {
            capacity *= 2;
            char *bigger = realloc(buffer, capacity + 1);
            if (!bigger) {
                free(buffer);
                return NULL;
            }
            buffer = bigger;
        }
        ssize_t count = read(fd, buffer + size, capacity - size);
        if (count < 0) {
            free(buffer);
            return NULL;
        }
        if (count == 0)
            break;
        size += (size_t)count;
    }
    buffer[size] = '\0';
    *length = size;
    return buffer;
}

static void write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t count = write(fd, data, length);
        if (count <= 0)
            return;
        data += count;
        length -= (size_t)count;
    }
}

/* Write an exception (message and stack) to stderr, where the host picks it up for the operator's log. */
static void report(JSValue error) {
    const char *text = JS_ToCString(ctx, error);
    if (text) {
        write_all(2, text, strlen(text));
        write_all(2, "\n", 1);
        JS_FreeCString(ctx, text);
    }
    if (JS_IsObject(error)) {
        JSValue stack = JS_GetPropertyStr(ctx, error, "stack");
        const char *trace = JS_IsString(stack) ? JS_ToCString(ctx, stack) : NULL;
        if (trace) {
            write_all(2, trace, strlen(trace));
            JS_FreeCString(ctx, trace);
        }
        JS_FreeValue(ctx, stack);
    }
}

static int report_exception(void) {
    JSValue error = JS_GetException(ctx);
    report(error);
    JS_FreeValue(ctx, error);
    return 1;
}

/* ---- modules: read from the worker's prepared folder ---------------------------------------------------------- */

/* Resolve `name` against the folder of `base`. Relative names may not climb out of the prepared folder. */
static char *normalize_module(JSContext *context, const char *base, const char *name, void *opaque) {
    (void)opaque;
    if (strncmp(name, NODE_PREFIX, strlen(NODE_PREFIX)) == 0) {
        /* node:buffer is the glue's node-buffer.js (a name without '/' or '.', so it stays in the glue folder). */
        const char *module = name + strlen(NODE_PREFIX);
        if (strpbrk(module, "/.") || !*module) {
            JS_ThrowReferenceError(context, "there is no module '%s'", name);
            return NULL;
        }
        char *path = js_malloc(context, strlen(NODE_GLUE) + strlen(module) + 4);
        if (path)
            sprintf(path, "%s%s.js", NODE_GLUE, module);
        return path;
    }
    if (name[0] != '.')
        return js_strdup(context, name);
    const char *slash = strrchr(base, '/');
    size_t keep = slash ? (size_t)(slash - base) : 0;
    char *path = js_malloc(context, keep + strlen(name) + 2);
    if (!path)
        return NULL;
    memcpy(path, base, keep);
    path[keep] = '\0';
    const char *rest = name;
    for (;;) {
        if (rest[0] == '.' && rest[1] == '/') {
            rest += 2;
        } else if (rest[0] == '.' && rest[1] == '.' && rest[2] == '/') {
            if (path[0] == '\0') {
                js_free(context, path);
                JS_ThrowReferenceError(context, "cannot import '%s' from '%s': it is outside the worker's folder",
                                       name, base);
                return NULL;
            }
            char *last = strrchr(path, '/');
            if (last)
                *last = '\0';
            else
                path[0] = '\0';
            rest += 3;
        } else {
            break;
        }
    }
    if (path[0] != '\0')
        strcat(path, "/");
    strcat(path, rest);
    return path;
}

/* True when a path segment of `name` is "..": such a name could reach outside the worker's folder. */
static int climbs_out(const char *name) {
    for (const char *segment = name; segment; segment = strchr(segment, '/')) {
        if (*segment == '/')
            segment++;
        if (segment[0] == '.' && segment[1] == '.' && (segment[2] == '/' || segment[2] == '\0'))
            return 1;
    }
    return 0;
}

static JSModuleDef *load_module(JSContext *context, const char *name, void *opaque) {
    (void)opaque;
    char path[1024];
    if (snprintf(path, sizeof path, "%s%s", SOURCE_ROOT, name) >= (int)sizeof path || climbs_out(name)) {
        JS_ThrowReferenceError(context, "cannot load module '%s'", name);
        return NULL;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0 && strncmp(name, NODE_GLUE, strlen(NODE_GLUE)) == 0) {
        JS_ThrowReferenceError(context, "the Node.js module 'node:%.*s' is not available in wws (it offers node:buffer)",
                               (int)(strlen(name) - strlen(NODE_GLUE) - 3), name + strlen(NODE_GLUE));
        return NULL;
    }
    if (fd < 0) {
        JS_ThrowReferenceError(context, "cannot find module '%s' (imports are relative paths to files beside the "
                                        "worker or in its _-prefixed folders)", name);
        return NULL;
    }
    size_t length;
    char *source = read_all(fd, &length);
    close(fd);
    if (!source) {
        JS_ThrowReferenceError(context, "cannot read module '%s'", name);
        return NULL;
    }
    JSValue compiled = JS_Eval(context, source, length, name, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    free(source);
    if (JS_IsException(compiled))
        return NULL;
    JSModuleDef *module = JS_VALUE_GET_PTR(compiled);
    JS_FreeValue(context, compiled);
    return module;
}

/* ---- native functions for the glue (on globalThis.__wws until the glue takes them) ---------------------------- */

static JSValue native_host(JSContext *context, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t length;
    const char *message = JS_ToCStringLen(context, &length, argv[0]);
    if (!message)
        return JS_EXCEPTION;
    int32_t answer_length = wws_host_call(message, (int32_t)length);
    JS_FreeCString(context, message);
    if (answer_length < 0)
        return JS_ThrowInternalError(context, "the host refused the call");
    char *answer = js_malloc(context, (size_t)answer_length + 1);
    if (!answer)
        return JS_EXCEPTION;
    int32_t copied = wws_host_result(answer, answer_length);
    JSValue result = copied == answer_length ? JS_NewStringLen(context, answer, (size_t)copied)
                                             : JS_ThrowInternalError(context, "the host answer was cut short");
    js_free(context, answer);
    return result;
}

static JSValue native_random(JSContext *context, JSValueConst this_val, int argc, JSValueConst *argv) {
    uint32_t count;
    if (JS_ToUint32(context, &count, argv[0]))
        return JS_EXCEPTION;
    if (count > 65536)
        return JS_ThrowRangeError(context, "at most 65536 random bytes at a time");
    uint8_t *bytes = js_malloc(context, count ? count : 1);
    if (!bytes)
        return JS_EXCEPTION;
    for (uint32_t done = 0; done < count; done += 256) {
        size_t chunk = count - done < 256 ? count - done : 256;
        if (getentropy(bytes + done, chunk)) {
            js_free(context, bytes);
            return JS_ThrowInternalError(context, "no entropy from the host");
        }
    }
    JSValue buffer = JS_NewArrayBufferCopy(context, bytes, count);
    js_free(context, bytes);
    return buffer;
}

/* UTF-8 of a string, lone surrogates replaced by U+FFFD (TextEncoder.encode). */
static JSValue native_utf8_encode(JSContext *context, JSValueConst this_val, int argc, JSValueConst *argv) {
    JSAtom method = JS_NewAtom(context, "toWellFormed");
    JSValue well_formed = JS_Invoke(context, argv[0], method, 0, NULL);
    JS_FreeAtom(context, method);
    if (JS_IsException(well_formed))
        return JS_EXCEPTION;
    size_t length;
    const char *text = JS_ToCStringLen(context, &length, well_formed);
    JS_FreeValue(context, well_formed);
    if (!text)
        return JS_EXCEPTION;
    JSValue array = JS_NewUint8ArrayCopy(context, (const uint8_t *)text, length);
    JS_FreeCString(context, text);
    return array;
}

/* Length of the valid UTF-8 sequence at `bytes` (1-4), or 0 if it is not valid (WHATWG decoding rules). */
static size_t utf8_sequence(const uint8_t *bytes, size_t available) {
    uint8_t lead = bytes[0];
    size_t need;
    uint8_t low = 0x80, high = 0xBF;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        need = 1;
    else if (lead >= 0xE0 && lead <= 0xEF)
        need = 2, low = lead == 0xE0 ? 0xA0 : 0x80, high = lead == 0xED ? 0x9F : 0xBF;
    else if (lead >= 0xF0 && lead <= 0xF4)
        need = 3, low = lead == 0xF0 ? 0x90 : 0x80, high = lead == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    for (size_t index = 1; index <= need; index++) {
        if (index >= available || bytes[index] < low || bytes[index] > high)
            return 0;
        low = 0x80, high = 0xBF;
    }
    return need + 1;
}

/* The maximal invalid prefix to replace with one U+FFFD (at least one byte). */
static size_t utf8_invalid(const uint8_t *bytes, size_t available) {
    size_t index = 1;
    uint8_t lead = bytes[0];
    uint8_t low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    uint8_t high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
    size_t need = lead >= 0xF0 && lead <= 0xF4 ? 3 : lead >= 0xE0 && lead <= 0xEF ? 2 : lead >= 0xC2 ? 1 : 0;
    while (index <= need && index < available && bytes[index] >= low && bytes[index] <= high) {
        index++;
        low = 0x80, high = 0xBF;
    }
    return index;
}

/* A string from UTF-8 bytes (TextDecoder.decode): invalid sequences become U+FFFD, or throw when `fatal`. */
static JSValue native_utf8_decode(JSContext *context, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t length;
    uint8_t *bytes = JS_GetUint8Array(context, &length, argv[0]);
    if (!bytes)
        return JS_EXCEPTION;
    int fatal = JS_ToBool(context, argv[1]);
    size_t start = length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF && !JS_ToBool(context, argv[2])
                       ? 3
                       : 0;
    size_t index = start;
    while (index < length) {
        size_t step = utf8_sequence(bytes + index, length - index);
        if (!step)
            break;
        index += step;
    }
    if (index == length)
        return JS_NewStringLen(context, (const char *)bytes + start, length - start);
    if (fatal)
        return JS_ThrowTypeError(context, "The encoded data was not valid for encoding utf-8");
    /* Rebuild with replacements: each invalid byte run costs 3 bytes at most. */
    uint8_t *clean = js_malloc(context, (length - start) * 3 + 1);
    if (!clean)
        return JS_EXCEPTION;
    size_t out = index - start;
    memcpy(clean, bytes + start, out);
    while (index < length) {
        size_t step = utf8_sequence(bytes + index, length - index);
        if (step) {
            memcpy(clean + out, bytes + index, step);
            out += step;
            index += step;
        } else {
            memcpy(clean + out, "\xEF\xBF\xBD", 3);
            out += 3;
            index += utf8_invalid(bytes + index, length - index);
        }
    }
    JSValue text = JS_NewStringLen(context, (const char *)clean, out);
    js_free(context, clean);
    return text;
}

static const JSCFunctionListEntry natives[] = {
    JS_CFUNC_DEF("host", 1, native_host),
    JS_CFUNC_DEF("random", 1, native_random),
    JS_CFUNC_DEF("utf8Encode", 1, native_utf8_encode),
    JS_CFUNC_DEF("utf8Decode", 3, native_utf8_decode),
};

/* ---- the event loop of one request ---------------------------------------------------------------------------- */

static int run_jobs(void) {
    JSContext *job_context;
    for (;;) {
        int status = JS_ExecutePendingJob(rt, &job_context);
        if (status == 0)
            return 0;
        if (status < 0)
            return report_exception();
    }
}

/* Run jobs and due timers until `promise` settles. Timers live in the glue: timers_fn(now) runs the due ones and
 * returns the delay in ms until the next one, or -1 when none is left. */
static int settle(JSValue promise) {
    for (;;) {
        if (run_jobs())
            return 1;
        if (JS_PromiseState(ctx, promise) != JS_PROMISE_PENDING)
            return 0;
        JSValue next = JS_Call(ctx, timers_fn, JS_UNDEFINED, 0, NULL);
        if (JS_IsException(next))
            return report_exception();
        double delay;
        JS_ToFloat64(ctx, &delay, next);
        JS_FreeValue(ctx, next);
        if (delay < 0 && JS_IsJobPending(rt))
            continue;
        if (delay < 0) {
            const char *message = "Error: the handler's promise never settled (nothing left to wait for)\n";
            write_all(2, message, strlen(message));
            return 1;
        }
        if (delay > 0) {
            /* One sleep for the whole wait: the host's poll_oneoff ends it at the request's deadline. */
            long long ns = (long long)((delay < MAX_SLEEP_MS ? delay : MAX_SLEEP_MS) * 1e6);
            struct timespec wait = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
            nanosleep(&wait, NULL);
        }
    }
}

/* ---- exports -------------------------------------------------------------------------------------------------- */

/* The modules to load: argv[0] is the worker's module, argv[1…] the glue modules to run before it (the Node.js
   globals of nodejs_compat). Returns the count, or 0; `*argv` and `*buffer` are the caller's to free. */
static size_t module_names(char ***argv, char **buffer) {
    size_t count, size;
    if (__wasi_args_sizes_get(&count, &size) || count < 1)
        return 0;
    *argv = malloc(count * sizeof(char *));
    *buffer = malloc(size);
    if (!*argv || !*buffer || __wasi_args_get((uint8_t **)*argv, (uint8_t *)*buffer))
        return 0;
    return count;
}

static JSValue load_and_wait(const char *name) {
    JSValue promise = JS_LoadModule(ctx, "", name);
    if (JS_IsException(promise))
        return promise;
    if (run_jobs()) {
        JS_FreeValue(ctx, promise);
        return JS_EXCEPTION;
    }
    JSPromiseStateEnum state = JS_PromiseState(ctx, promise);
    JSValue result = JS_PromiseResult(ctx, promise);
    JS_FreeValue(ctx, promise);
    if (state == JS_PROMISE_FULFILLED)
        return result;
    if (state == JS_PROMISE_REJECTED)
        return JS_Throw(ctx, result);
    JS_FreeValue(ctx, result);
    return JS_ThrowSyntaxError(ctx, "module '%s' waits at top level for something that never comes", name);
}

WWS_EXPORT("wws_init") int wws_init(void) {
    rt = JS_NewRuntime();
    if (!rt)
        return 1;
    JS_SetMaxStackSize(rt, (size_t)js_get_stack_pointer() - STACK_MARGIN);
    JS_SetModuleLoaderFunc(rt, normalize_module, load_module, NULL);
    ctx = JS_NewContext(rt);
    if (!ctx)
        return 1;
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue natives_object = JS_NewObject(ctx);
    JS_SetPropertyFunctionList(ctx, natives_object, natives, countof(natives));
    JS_SetPropertyStr(ctx, global, "__wws", natives_object);
    JS_FreeValue(ctx, global);

    JSValue glue = load_and_wait(GLUE_ENTRY);
    if (JS_IsException(glue))
        return report_exception();
    char **names = NULL, *buffer = NULL;
    size_t count = module_names(&names, &buffer);
    int failed = 0;
    for (size_t index = 1; index < count && !failed; index++) { /* the preloads first */
        JSValue preloaded = load_and_wait(names[index]);
        failed = JS_IsException(preloaded);
        JS_FreeValue(ctx, preloaded);
    }
    JSValue worker = count == 0 || failed ? JS_EXCEPTION : load_and_wait(names[0]);
    free(names);
    free(buffer);
    if (count == 0) {
        JS_FreeValue(ctx, glue);
        return 1;
    }
    if (JS_IsException(worker)) {
        JS_FreeValue(ctx, glue);
        return report_exception();
    }
    JSValue install = JS_GetPropertyStr(ctx, glue, "install");
    JSValue installed = JS_Call(ctx, install, JS_UNDEFINED, 1, (JSValueConst *)&worker);
    JS_FreeValue(ctx, install);
    JS_FreeValue(ctx, worker);
    if (JS_IsException(installed)) {
        JS_FreeValue(ctx, glue);
        return report_exception();
    }
    JS_FreeValue(ctx, installed);
    handle_fn = JS_GetPropertyStr(ctx, glue, "handle");
    timers_fn = JS_GetPropertyStr(ctx, glue, "runTimers");
    JS_FreeValue(ctx, glue);
    if (run_jobs())
        return 1;
    char *area = malloc(REQUEST_AREA);
    if (!area)
        return 1;
    io.request = (uint32_t)(uintptr_t)area;
    io.request_capacity = REQUEST_AREA;
    JS_RunGC(rt);
    JS_SetGCThreshold(rt, rt->malloc_state.malloc_size + GC_HEADROOM);
    void *volatile reserve = malloc(HEAP_HEADROOM); /* volatile: the compiler may not drop the pair */
    free(reserve); /* the allocator keeps the memory it took: the image ends with this much free heap */
    return 0;
}

WWS_EXPORT("wws_handle") int wws_handle(void) {
    if (pending_response) {
        JS_FreeCString(ctx, pending_response);
        pending_response = NULL;
    }
    io.response = io.response_length = 0;
    uint64_t seed;
    if (getentropy(&seed, sizeof seed) == 0)
        ctx->random_state = seed ? seed : 1;
    ctx->time_origin = io.now_ns ? io.now_ns / 1e6 : js__now_ms();
    io.now_ns = 0;
    JS_UpdateStackTop(rt);

    JSValue argument;
    if (io.request_length != FROM_STDIN && io.request_length <= io.request_capacity) {
        argument = JS_NewStringLen(ctx, (const char *)(uintptr_t)io.request, io.request_length);
    } else {
        size_t length;
        char *request = read_all(0, &length);
        if (!request)
            return 1;
        argument = JS_NewStringLen(ctx, request, length);
        free(request);
    }
    io.request_length = FROM_STDIN;
    if (JS_IsException(argument))
        return report_exception();
    JSValue promise = JS_Call(ctx, handle_fn, JS_UNDEFINED, 1, (JSValueConst *)&argument);
    JS_FreeValue(ctx, argument);
    if (JS_IsException(promise))
        return report_exception();
    int failed = settle(promise);
    if (!failed) {
        JSValue result = JS_PromiseResult(ctx, promise);
        if (JS_PromiseState(ctx, promise) == JS_PROMISE_REJECTED) {
            report(result);
            failed = 1;
        } else {
            size_t size;
            const char *text = JS_ToCStringLen(ctx, &size, result);
            if (text) {
                pending_response = text;
                io.response = (uint32_t)(uintptr_t)text;
                io.response_length = (uint32_t)size;
            } else {
                failed = report_exception();
            }
        }
        JS_FreeValue(ctx, result);
    }
    JS_FreeValue(ctx, promise);
    return failed;
}
