/* Fill the masks of a sentence through libxlmedge.so.
 * usage: fill_mask MODEL.gguf LANG "TEXT with <special1>" */
#include <stdio.h>
#include <stdlib.h>
#include "xlmedge.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.gguf LANG TEXT\n", argv[0]);
        return 2;
    }
    printf("libxlmedge %s %s\n", xlmedge_version(), xlmedge_info());

    xlmedge_model *model = NULL;
    if (xlmedge_open(argv[1], 0, &model) != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        return 1;
    }

    enum { TOP_K = 5, CAPACITY = 64 * TOP_K };
    xlmedge_candidate candidates[CAPACITY];
    int32_t count = 0;
    int32_t status = xlmedge_fill_mask(model, argv[3], argv[2], TOP_K, candidates, CAPACITY, &count);
    if (status != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        xlmedge_close(model);
        return 1;
    }
    for (int32_t i = 0; i < count; i++)
        printf("mask@%d %-16s id=%-6d p=%.4f logit=%.3f\n", candidates[i].mask_position,
               candidates[i].token, candidates[i].id, candidates[i].probability, candidates[i].logit);

    char *json = NULL;
    if (xlmedge_fill_mask_json(model, argv[3], argv[2], 1, &json) == XLMEDGE_OK) {
        printf("%s\n", json);
        xlmedge_free(json);
    }

    /* Errors come back as a status and a message, never as a crash. */
    int ok = 1;
    if (xlmedge_fill_mask(model, "no mask here", argv[2], TOP_K, candidates, CAPACITY, &count) == XLMEDGE_ERROR_INPUT)
        printf("expected error: %s\n", xlmedge_last_error());
    else
        ok = 0;
    if (xlmedge_fill_mask(model, "a <special1>", "xx", TOP_K, candidates, CAPACITY, &count) == XLMEDGE_ERROR_INPUT)
        printf("expected error: %s\n", xlmedge_last_error());
    else
        ok = 0;
    if (xlmedge_fill_mask(model, "a <special1>", argv[2], TOP_K, candidates, 1, &count) == XLMEDGE_ERROR_BUFFER_TOO_SMALL)
        printf("expected error: %s (needs %d)\n", xlmedge_last_error(), count);
    else
        ok = 0;
    xlmedge_model *bad = NULL;
    if (xlmedge_open("/nonexistent.gguf", 0, &bad) == XLMEDGE_ERROR_MODEL_FILE && bad == NULL)
        printf("expected error: %s\n", xlmedge_last_error());
    else
        ok = 0;

    xlmedge_close(model);
    return ok ? 0 : 1;
}
