/* Continue a text and score it with a causal model (xlm-clm-*) through libxlmedge.
 * usage: generate CLM_MODEL.gguf LANG "TEXT" [MAX_TOKENS] */
#include <stdio.h>
#include <stdlib.h>
#include <xlmedge.h>

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s CLM_MODEL.gguf LANG TEXT [MAX_TOKENS]\n", argv[0]);
        return 2;
    }
    xlmedge_model *model = NULL;
    if (xlmedge_open_with_params(argv[1], NULL, &model) != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        return 1;
    }

    /* Greedy by default; set temperature (and top_k, top_p, seed) to sample. */
    xlmedge_generate_params params = xlmedge_generate_default_params();
    if (argc == 5)
        params.max_tokens = atoi(argv[4]);
    int32_t *ids = malloc(sizeof *ids * (size_t)(params.max_tokens > 0 ? params.max_tokens : 1));
    int32_t count = 0;
    char *text = NULL;
    int32_t status = xlmedge_generate(model, argv[3], argv[2], &params, ids, params.max_tokens, &count, &text);
    if (status != XLMEDGE_OK) {
        fprintf(stderr, "error: %s: %s\n", xlmedge_status_string(status), xlmedge_last_error());
        free(ids);
        xlmedge_close(model);
        return 1;
    }
    printf("continuation: %s\nids:", text);
    for (int32_t i = 0; i < count; i++)
        printf(" %d", ids[i]);
    printf("\n");
    xlmedge_free(text);
    free(ids);

    /* Log-likelihood and perplexity of the text itself (the totals only: no per-token buffer). */
    double log_likelihood = 0, perplexity = 0;
    if (xlmedge_score(model, argv[3], argv[2], &log_likelihood, &perplexity, NULL, 0, &count) != XLMEDGE_OK) {
        fprintf(stderr, "error: %s\n", xlmedge_last_error());
        xlmedge_close(model);
        return 1;
    }
    printf("score: log-likelihood %.4f, perplexity %.3f over %d tokens\n", log_likelihood, perplexity, count);
    xlmedge_close(model);
    return 0;
}
