/* Fill the masks of a sentence through libxlmedge.
 * usage: fill_mask MODEL.gguf LANG "TEXT with <special1>" */
#include <stdio.h>
#include <stdlib.h>
#include <xlmedge.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.gguf LANG TEXT\n", argv[0]);
        return 2;
    }

    /* Version, ABI and SIMD path, before any model is open; and the header this program was built with. */
    printf("libxlmedge %s %s (header %d.%d.%d)\n", xlmedge_version(), xlmedge_info(),
           XLMEDGE_VERSION_MAJOR, XLMEDGE_VERSION_MINOR, XLMEDGE_VERSION_PATCH);

    xlmedge_model_params params = xlmedge_model_default_params();
    xlmedge_model *model = NULL;
    if (xlmedge_open_with_params(argv[1], &params, &model) != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        return 1;
    }

    xlmedge_model_info info = { .size = sizeof info };
    if (xlmedge_get_model_info(model, &info) != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        xlmedge_close(model);
        return 1;
    }
    printf("model: weights %s, d=%d, %d blocks, %d heads, vocabulary %d, %d languages\n", info.weight_type,
           info.embedding_length, info.block_count, info.head_count, info.vocab_size, info.language_count);

    enum { TOP_K = 5, CAPACITY = 64 * TOP_K };
    static xlmedge_candidate candidates[CAPACITY];
    int32_t count = 0;
    if (xlmedge_fill_mask(model, argv[3], argv[2], TOP_K, candidates, CAPACITY, &count) != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        xlmedge_close(model);
        return 1;
    }
    for (int32_t i = 0; i < count; i++)
        printf("mask@%d %-16s id=%-6d score=%.4f logit=%.3f\n", candidates[i].mask_position,
               candidates[i].token_str, candidates[i].token, candidates[i].score, candidates[i].logit);

    int32_t ids[512], n_ids = 0;
    if (xlmedge_tokenize(model, argv[3], argv[2], ids, 512, &n_ids) == XLMEDGE_OK) {
        printf("input ids:");
        for (int32_t i = 0; i < n_ids; i++)
            printf(" %d", ids[i]);
        printf("\n");
    }

    char *json = NULL;
    if (xlmedge_fill_mask_json(model, argv[3], argv[2], 1, &json) == XLMEDGE_OK) {
        printf("%s\n", json);
        xlmedge_free(json);
    }

    /* Errors come back as a status and a message, never as a crash. */
    int ok = 1;
    int32_t status = xlmedge_fill_mask(model, "no mask here", argv[2], TOP_K, candidates, CAPACITY, &count);
    printf("expected error: %s: %s\n", xlmedge_status_string(status), xlmedge_last_error());
    ok &= status == XLMEDGE_ERROR_INPUT;
    status = xlmedge_fill_mask(model, "a <special1>", argv[2], TOP_K, candidates, 1, &count);
    printf("expected error: %s: %s (needs %d)\n", xlmedge_status_string(status), xlmedge_last_error(), count);
    ok &= status == XLMEDGE_ERROR_BUFFER_TOO_SMALL;

    xlmedge_close(model);
    return ok ? 0 : 1;
}
