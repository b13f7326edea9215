/* examples/counter.wasm: state in the KV store. Its config names the namespace ([data.kv] in counter.toml); wws hands
 * the namespace in with each request ("kv") and applies the keys the worker answers with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char request[65536];

int main(void) {
    size_t length = 0;
    ssize_t n;
    while ((n = read(0, request + length, sizeof request - 1 - length)) > 0) {
        length += (size_t)n;
    }
    request[length] = 0;
    long count = 0;
    const char *kv = strstr(request, "\"kv\":{");
    const char *value = kv ? strstr(kv, "\"count\":\"") : NULL;
    if (value) {
        count = strtol(value + strlen("\"count\":\""), NULL, 10);
    }
    count++;
    printf("{\"status\":200,\"headers\":{\"content-type\":\"text/plain\"},"
           "\"kv\":{\"count\":\"%ld\"},\"data\":\"This page was visited %ld time%s.\"}",
           count, count, count == 1 ? "" : "s");
    return 0;
}
