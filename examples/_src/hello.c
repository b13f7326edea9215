/* examples/hello.wasm: the smallest native worker. It reads the request JSON from stdin and writes the response JSON
 * to stdout, the protocol of the original Wasm Workers Server. Built by scripts/install.sh. */
#include <stdio.h>
#include <unistd.h>

static char request[65536];

int main(void) {
    while (read(0, request, sizeof request) > 0) {
    }
    fputs("{\"status\":200,\"headers\":{\"content-type\":\"text/plain\"},\"data\":\"Hello from a native wasm worker!\"}",
          stdout);
    return 0;
}
