/* examples/api/[id].wasm: a dynamic route. The host passes the `id` segment in "params"; this worker answers it. */
#include <stdio.h>
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
    /* "params":{"id":"<value>"}: the value ends at the next quote (wws encodes params as JSON strings). */
    const char *id = strstr(request, "\"params\":{\"id\":\"");
    char value[128] = "?";
    if (id) {
        id += strlen("\"params\":{\"id\":\"");
        size_t end = strcspn(id, "\"");
        if (end < sizeof value) {
            memcpy(value, id, end);
            value[end] = 0;
        }
    }
    printf("{\"status\":200,\"headers\":{\"content-type\":\"application/json\"},\"data\":\"{\\\"id\\\":\\\"%s\\\"}\"}", value);
    return 0;
}
