/* examples/proxy.wasm: outbound HTTP through the host. The worker asks wws to fetch $ORIGIN/hello with the `wws`
 * imports (a JSON message in, a JSON answer out); wws sends it only because proxy.toml allows that host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((import_module("wws"), import_name("host_call"))) int host_call(const char *message, int length);
__attribute__((import_module("wws"), import_name("host_result"))) int host_result(char *buffer, int length);

static char request[65536];
static char message[1024];

int main(void) {
    while (read(0, request, sizeof request) > 0) {
    }
    const char *origin = getenv("ORIGIN");
    int length = snprintf(message, sizeof message, "{\"op\":\"http.fetch\",\"url\":\"%s/hello\"}",
                          origin ? origin : "http://127.0.0.1:8080");
    int size = host_call(message, length);
    char *answer = malloc((size_t)size + 1);
    host_result(answer, size);
    answer[size] = 0;
    /* The host's answer is JSON already: return it as the body, as JSON. */
    printf("{\"status\":200,\"headers\":{\"content-type\":\"application/json\"},\"data\":\"");
    for (const char *c = answer; *c; c++) {
        if (*c == '"' || *c == '\\') putchar('\\');
        putchar(*c);
    }
    printf("\"}");
    return 0;
}
