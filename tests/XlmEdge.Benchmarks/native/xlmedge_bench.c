/* The benchmark's driver of libxlmedge.so: fill-mask through the C API, one call per line of stdin.
 *
 *   xlmedge_bench MODEL.gguf THREADS LANG     (compiled by run-benchmarks.sh against the published library)
 *
 * Reads texts one per line; for each, calls xlmedge_fill_mask (top 5) and writes one line
 * {"ms": time inside the call, "top1": id} and flushes, so that the benchmark can time the round trip
 * and interleave this process's calls with the other artefacts'. A failed call writes {"error": ...}. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "xlmedge.h"

/* The candidate's vocabulary id: `token` from ABI version 1 on (Hugging Face's names), `id` before. */
#ifdef XLMEDGE_ABI_VERSION
#define TOP_ID(c) ((c).token)
#else
#define TOP_ID(c) ((c).id)
#endif

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.gguf THREADS LANG\n", argv[0]);
        return 2;
    }
    xlmedge_model *model = NULL;
    if (xlmedge_open(argv[1], atoi(argv[2]), &model) != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        return 1;
    }
    enum { TOP_K = 5, CAPACITY = 64 * TOP_K };
    static xlmedge_candidate candidates[CAPACITY];
    char *line = NULL;
    size_t size = 0;
    ssize_t length;
    while ((length = getline(&line, &size, stdin)) > 0) {
        if (line[length - 1] == '\n')
            line[length - 1] = '\0';
        int32_t count = 0;
        double start = now_ms();
        int32_t status = xlmedge_fill_mask(model, line, argv[3], TOP_K, candidates, CAPACITY, &count);
        double ms = now_ms() - start;
        if (status == XLMEDGE_OK && count > 0)
            printf("{\"ms\": %.4f, \"top1\": %d}\n", ms, TOP_ID(candidates[0]));
        else
            printf("{\"error\": \"status %d\"}\n", status);
        fflush(stdout);
    }
    free(line);
    xlmedge_close(model);
    return 0;
}
