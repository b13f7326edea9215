/* The benchmark's native hello worker as a reactor (wws_handle), which instance isolation keeps warm. */
#include <stdio.h>
#include <unistd.h>

static char request[65536];

__attribute__((export_name("wws_handle"))) void wws_handle(void) {
    while (read(0, request, sizeof request) > 0) {
    }
    fputs("{\"status\":200,\"headers\":{\"content-type\":\"text/plain\"},\"data\":\"Hello, world!\"}", stdout);
    fflush(stdout);
}
