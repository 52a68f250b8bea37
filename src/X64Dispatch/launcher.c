/*
 * The x64 `xlmedge` console: a launcher that runs the Native AOT build for this CPU, xlmedge-v4
 * (x86-64-v4, AVX-512) or xlmedge-v3 (x86-64-v3, AVX2 + FMA), which lie next to it, with the same
 * arguments (execv: the launcher's process becomes the console; about 2 ms per start on the 2-core AMD
 * EPYC VM this was measured on, where `xlmedge fill-mask` starts in 111-131 ms).
 * Below x86-64-v3: one `error:` line and exit status 1. See x64_level.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "x64_level.h"

int main(int argc, char **argv) {
    (void)argc;
    char msg[512];
    int level = xlmedge_x64_pick("xlmedge", msg, sizeof msg);
    if (level == 0) {
        fprintf(stderr, "error: %s\n", msg);
        return 1;
    }
    /* This file's real path (symbolic links resolved) plus "-v3" or "-v4". */
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 4);
    if (n <= 0) {
        fprintf(stderr, "error: xlmedge: cannot read /proc/self/exe: %s\n", strerror(errno));
        return 1;
    }
    snprintf(path + n, 4, "-v%d", level);
    execv(path, argv);
    fprintf(stderr, "error: xlmedge: cannot run %s: %s\n", path, strerror(errno));
    return 1;
}
