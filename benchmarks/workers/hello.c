/* The benchmark's native hello worker (a command: one request per instance, as the original wws ran them). */
#include <stdio.h>
#include <unistd.h>

static char request[65536];

int main(void) {
    while (read(0, request, sizeof request) > 0) {
    }
    fputs("{\"status\":200,\"headers\":{\"content-type\":\"text/plain\"},\"data\":\"Hello, world!\"}", stdout);
    return 0;
}
