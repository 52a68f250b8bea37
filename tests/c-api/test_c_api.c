/* The C API from C: every function with NULLs, closed handles, zero capacities, bad UTF-8 and a
 * missing file; stale handles; non-finite results; errors on many threads; 200 open/close cycles;
 * generation and scoring on a causal model, and each model kind refusing the other's job.
 * Run under valgrind by run.sh, which fails on any definite leak.
 * usage: test_c_api MODEL.gguf [NAN_MODEL.gguf [CLM_MODEL.gguf [NAN_CLM_MODEL.gguf]]] */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlmedge.h>

static int failures, checks;

#define CHECK(cond) do { checks++; if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, xlmedge_last_error()); } } while (0)
#define CHECK_STATUS(call, expected) do { int32_t s_ = (call); checks++; if (s_ != (expected)) { failures++; \
    fprintf(stderr, "%s:%d: %s gave %d (%s), expected %d; last error: %s\n", __FILE__, __LINE__, #call, s_, \
            xlmedge_status_string(s_), (int)(expected), xlmedge_last_error()); } } while (0)
#define CHECK_ERROR(call, expected, text) do { CHECK_STATUS(call, expected); CHECK(strstr(xlmedge_last_error(), text) != NULL); } while (0)

static const char *const BAD_UTF8 = "a \xff\xfe <special1> \xc3";

static void versions_and_statuses(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", XLMEDGE_VERSION_MAJOR, XLMEDGE_VERSION_MINOR, XLMEDGE_VERSION_PATCH);
    CHECK(strcmp(xlmedge_version(), expected) == 0);
    CHECK(strcmp(xlmedge_status_string(XLMEDGE_OK), "ok") == 0);
    for (int32_t s = XLMEDGE_ERROR_ARGUMENT; s <= XLMEDGE_ERROR_MEMORY_LOCK; s++)
        CHECK(strlen(xlmedge_status_string(s)) > 0 && strcmp(xlmedge_status_string(s), "unknown status") != 0);
    CHECK(strcmp(xlmedge_status_string(-1), "unknown status") == 0);
    CHECK(strcmp(xlmedge_status_string(1000), "unknown status") == 0);

    /* The runtime info before any model is open: one JSON object with the version, ABI and SIMD path. */
    const char *info = xlmedge_info();
    char field[64];
    CHECK(info != NULL && info == xlmedge_info() && info[0] == '{' && info[strlen(info) - 1] == '}');
    snprintf(field, sizeof field, "\"version\":\"%s\"", expected);
    CHECK(strstr(info, field) != NULL);
    snprintf(field, sizeof field, "\"abi\":%d,", XLMEDGE_ABI_VERSION);
    CHECK(strstr(info, field) != NULL);
    const char *simd = strstr(info, "\"simd\":\"");
    CHECK(simd != NULL && strchr(simd + 8, '"') != NULL && strchr(simd + 8, '"') > simd + 8);
}

static void opening(const char *path) {
    xlmedge_model_params params = xlmedge_model_default_params();
    CHECK(params.size == sizeof params && params.threads <= 0 && params.backend == XLMEDGE_BACKEND_CPU);
    xlmedge_model *m = (xlmedge_model *)1;
    CHECK_ERROR(xlmedge_open_with_params(NULL, &params, &m), XLMEDGE_ERROR_ARGUMENT, "path is NULL");
    CHECK(m == NULL);
    CHECK_ERROR(xlmedge_open_with_params(path, &params, NULL), XLMEDGE_ERROR_ARGUMENT, "out_model is NULL");
    m = (xlmedge_model *)1;
    CHECK_STATUS(xlmedge_open_with_params("/nonexistent/model.gguf", &params, &m), XLMEDGE_ERROR_MODEL_FILE);
    CHECK(m == NULL);
    CHECK_STATUS(xlmedge_open("/nonexistent/model.gguf", 1, &m), XLMEDGE_ERROR_MODEL_FILE);
    CHECK_STATUS(xlmedge_open("/", 1, &m), XLMEDGE_ERROR_MODEL_FILE);
    CHECK_ERROR(xlmedge_open_with_params(BAD_UTF8, &params, &m), XLMEDGE_ERROR_ARGUMENT, "UTF-8");
    xlmedge_model_params other = params;
    other.backend = 7;
    CHECK_ERROR(xlmedge_open_with_params(path, &other, &m), XLMEDGE_ERROR_ARGUMENT, "backend 7");
    other = params;
    other.weight_type = 3;
    CHECK_ERROR(xlmedge_open_with_params(path, &other, &m), XLMEDGE_ERROR_ARGUMENT, "weight_type 3");
    other = params;
    other.size = 0;
    CHECK_ERROR(xlmedge_open_with_params(path, &other, &m), XLMEDGE_ERROR_ARGUMENT, "size");
    /* A caller built against an older, shorter params struct: the fields it lacks take their defaults. */
    other = params;
    other.size = 8;
    other.backend = 99;
    CHECK_STATUS(xlmedge_open_with_params(path, &other, &m), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_open_with_params(path, NULL, &m), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_close(NULL), XLMEDGE_OK);
    /* lock_memory: locked when this process may lock the file's size (CI runs as root), else the status
       that names the limit; either way nothing else changes. */
    other = params;
    other.lock_memory = 1;
    int32_t locked = xlmedge_open_with_params(path, &other, &m);
    CHECK(locked == XLMEDGE_OK || (locked == XLMEDGE_ERROR_MEMORY_LOCK && strstr(xlmedge_last_error(), "RLIMIT_MEMLOCK") != NULL));
    if (locked == XLMEDGE_OK) {
        xlmedge_candidate c[5];
        int32_t n = -1;
        CHECK_STATUS(xlmedge_fill_mask(m, "the <special1> is here .", "en", 5, c, 5, &n), XLMEDGE_OK);
        CHECK(n == 5);
        CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
    } else {
        CHECK(m == NULL);
    }
}

static void calls(xlmedge_model *m) {
    xlmedge_candidate c[64 * 5];
    int32_t n = -1;
    CHECK_STATUS(xlmedge_fill_mask(m, "the <special1> is here .", "en", 5, c, 64 * 5, &n), XLMEDGE_OK);
    CHECK(n == 5);
    for (int32_t i = 0; i < n; i++)
        CHECK(c[i].input_index == 0 && c[i].mask_position == 2 && c[i].token_str != NULL && c[i].score >= 0 && c[i].score <= 1);
    CHECK(c[0].score >= c[4].score);
    CHECK_ERROR(xlmedge_fill_mask(NULL, "a <special1>", "en", 5, c, 5, &n), XLMEDGE_ERROR_ARGUMENT, "model is NULL");
    CHECK_ERROR(xlmedge_fill_mask(m, NULL, "en", 5, c, 5, &n), XLMEDGE_ERROR_ARGUMENT, "text is NULL");
    CHECK_ERROR(xlmedge_fill_mask(m, "a <special1>", NULL, 5, c, 5, &n), XLMEDGE_ERROR_ARGUMENT, "lang is NULL");
    CHECK_ERROR(xlmedge_fill_mask(m, "a <special1>", "en", 5, c, 5, NULL), XLMEDGE_ERROR_ARGUMENT, "out_count is NULL");
    CHECK_ERROR(xlmedge_fill_mask(m, "a <special1>", "en", 0, c, 5, &n), XLMEDGE_ERROR_ARGUMENT, "top_k");
    CHECK_ERROR(xlmedge_fill_mask(m, BAD_UTF8, "en", 5, c, 5, &n), XLMEDGE_ERROR_INPUT, "UTF-8");
    CHECK_ERROR(xlmedge_fill_mask(m, "a <special1>", "\xff", 5, c, 5, &n), XLMEDGE_ERROR_INPUT, "UTF-8");
    CHECK_ERROR(xlmedge_fill_mask(m, "no mask", "en", 5, c, 5, &n), XLMEDGE_ERROR_INPUT, "no mask");
    CHECK_ERROR(xlmedge_fill_mask(m, "a <special1>", "xx", 5, c, 5, &n), XLMEDGE_ERROR_INPUT, "unsupported language");
    n = -1;
    CHECK_STATUS(xlmedge_fill_mask(m, "a <special1> b <special1>", "en", 3, c, 0, &n), XLMEDGE_ERROR_BUFFER_TOO_SMALL);
    CHECK(n == 6);
    CHECK_STATUS(xlmedge_fill_mask(m, "a <special1> b <special1>", "en", 3, NULL, 0, &n), XLMEDGE_ERROR_BUFFER_TOO_SMALL);
    CHECK_STATUS(xlmedge_fill_mask(m, "a <special1>", "en", 3, c, -1, &n), XLMEDGE_ERROR_ARGUMENT);
    CHECK_STATUS(xlmedge_fill_mask(m, "a <special1>", "en", 3, NULL, 3, &n), XLMEDGE_ERROR_ARGUMENT);

    xlmedge_model_info info = { .size = sizeof info };
    CHECK_ERROR(xlmedge_get_model_info(m, NULL), XLMEDGE_ERROR_ARGUMENT, "out_info is NULL");
    CHECK_ERROR(xlmedge_get_model_info(NULL, &info), XLMEDGE_ERROR_ARGUMENT, "model is NULL");
    xlmedge_model_info small = { .size = 4 };
    CHECK_ERROR(xlmedge_get_model_info(m, &small), XLMEDGE_ERROR_ARGUMENT, "size");
    /* A caller's struct from a later header may be longer: the library fills its own part and says how much. */
    struct { xlmedge_model_info info; int32_t later_field; } longer = { .info = { .size = sizeof longer }, .later_field = -7 };
    CHECK_STATUS(xlmedge_get_model_info(m, &longer.info), XLMEDGE_OK);
    CHECK(longer.info.size == sizeof(xlmedge_model_info) && longer.later_field == -7);
    CHECK_STATUS(xlmedge_get_model_info(m, &info), XLMEDGE_OK);
    CHECK(info.size == sizeof info && info.causal == 0 && info.head_count > 0 && info.embedding_length % info.head_count == 0);
    CHECK(info.vocab_size > 0 && info.embedding_length > 0 && info.block_count > 0 && info.language_count == 2);
    CHECK(strcmp(info.weight_type, "f16") == 0 || strcmp(info.weight_type, "f32") == 0);
    /* top_k past the vocabulary is clamped: one candidate per vocabulary entry. */
    xlmedge_candidate *all = malloc(sizeof *all * (size_t)info.vocab_size);
    CHECK_STATUS(xlmedge_fill_mask(m, "a <special1>", "en", 1 << 30, all, info.vocab_size, &n), XLMEDGE_OK);
    CHECK(n == info.vocab_size);
    free(all);

    const char *texts[] = { "a <special1> b .", "le <special1> est <special1> ." };
    const char *langs[] = { "en", "fr" };
    CHECK_STATUS(xlmedge_fill_mask_batch(m, texts, langs, 2, 2, c, 64 * 5, &n), XLMEDGE_OK);
    CHECK(n == 6 && c[0].input_index == 0 && c[1].input_index == 0 && c[2].input_index == 1 && c[5].input_index == 1);
    CHECK(c[2].mask_position == 2 && c[4].mask_position == 4);
    CHECK_ERROR(xlmedge_fill_mask_batch(m, NULL, langs, 2, 2, c, 10, &n), XLMEDGE_ERROR_ARGUMENT, "texts is NULL");
    CHECK_ERROR(xlmedge_fill_mask_batch(m, texts, NULL, 2, 2, c, 10, &n), XLMEDGE_ERROR_ARGUMENT, "langs is NULL");
    CHECK_ERROR(xlmedge_fill_mask_batch(m, texts, langs, 0, 2, c, 10, &n), XLMEDGE_ERROR_ARGUMENT, "count");
    const char *with_null[] = { "a <special1>", NULL };
    CHECK_ERROR(xlmedge_fill_mask_batch(m, with_null, langs, 2, 2, c, 10, &n), XLMEDGE_ERROR_ARGUMENT, "texts[1] is NULL");
    CHECK_STATUS(xlmedge_fill_mask_batch(m, texts, langs, 2, 2, c, 0, &n), XLMEDGE_ERROR_BUFFER_TOO_SMALL);
    CHECK(n == 6);

    char *json = (char *)1;
    CHECK_STATUS(xlmedge_fill_mask_json(m, "a <special1> b", "en", 2, &json), XLMEDGE_OK);
    CHECK(json != NULL && strstr(json, "\"token_str\":") != NULL && strstr(json, "\"score\":") != NULL);
    xlmedge_free(json);
    CHECK_ERROR(xlmedge_fill_mask_json(m, "a <special1> b", "en", 2, NULL), XLMEDGE_ERROR_ARGUMENT, "out_json is NULL");
    json = (char *)1;
    CHECK_STATUS(xlmedge_fill_mask_json(m, "no mask", "en", 2, &json), XLMEDGE_ERROR_INPUT);
    CHECK(json == NULL);
    xlmedge_free(NULL);

    int32_t ids[16];
    CHECK_STATUS(xlmedge_tokenize(m, "hello world", "en", NULL, 0, &n), XLMEDGE_ERROR_BUFFER_TOO_SMALL);
    int32_t needed = n;
    CHECK(needed >= 4);
    CHECK_STATUS(xlmedge_tokenize(m, "hello world", "en", ids, needed, &n), XLMEDGE_OK);
    CHECK(n == needed && ids[0] == 0 && ids[n - 1] == 1);
    CHECK_ERROR(xlmedge_tokenize(m, NULL, "en", ids, 16, &n), XLMEDGE_ERROR_ARGUMENT, "text is NULL");
    CHECK_ERROR(xlmedge_tokenize(m, "x", "en", ids, 16, NULL), XLMEDGE_ERROR_ARGUMENT, "out_count is NULL");
    CHECK_STATUS(xlmedge_tokenize(m, BAD_UTF8, "en", ids, 16, &n), XLMEDGE_ERROR_INPUT);

    int32_t size = 0, id = -1, count = 0;
    CHECK_STATUS(xlmedge_vocab_size(m, &size), XLMEDGE_OK);
    CHECK(size == info.vocab_size);
    CHECK_STATUS(xlmedge_vocab_size(m, NULL), XLMEDGE_ERROR_ARGUMENT);
    const char *text = NULL;
    CHECK_STATUS(xlmedge_token_text(m, info.mask_token, &text), XLMEDGE_OK);
    CHECK(text != NULL && strcmp(text, "<special1>") == 0);
    CHECK_STATUS(xlmedge_token_text(m, size, &text), XLMEDGE_ERROR_INPUT);
    CHECK_STATUS(xlmedge_token_text(m, -1, &text), XLMEDGE_ERROR_INPUT);
    CHECK_STATUS(xlmedge_token_text(m, 0, NULL), XLMEDGE_ERROR_ARGUMENT);
    CHECK_STATUS(xlmedge_token_id(m, "<special1>", &id), XLMEDGE_OK);
    CHECK(id == info.mask_token);
    CHECK_STATUS(xlmedge_token_id(m, "no such token", &id), XLMEDGE_ERROR_INPUT);
    CHECK_STATUS(xlmedge_token_id(m, BAD_UTF8, &id), XLMEDGE_ERROR_INPUT);
    CHECK_STATUS(xlmedge_token_id(m, NULL, &id), XLMEDGE_ERROR_ARGUMENT);
    CHECK_STATUS(xlmedge_token_id(m, "<s>", NULL), XLMEDGE_ERROR_ARGUMENT);
    CHECK_STATUS(xlmedge_language_count(m, &count), XLMEDGE_OK);
    CHECK(count == 2);
    CHECK_STATUS(xlmedge_language_count(m, NULL), XLMEDGE_ERROR_ARGUMENT);
    const char *lang = NULL;
    CHECK_STATUS(xlmedge_language(m, 1, &lang), XLMEDGE_OK);
    CHECK(lang != NULL && strcmp(lang, "fr") == 0);
    CHECK_STATUS(xlmedge_language(m, 2, &lang), XLMEDGE_ERROR_INPUT);
    CHECK_STATUS(xlmedge_language(m, 0, NULL), XLMEDGE_ERROR_ARGUMENT);
    CHECK_STATUS(xlmedge_language_id(m, "fr", &id), XLMEDGE_OK);
    CHECK(id == 1);
    CHECK_STATUS(xlmedge_language_id(m, "de", &id), XLMEDGE_ERROR_INPUT);
    CHECK_STATUS(xlmedge_language_id(m, NULL, &id), XLMEDGE_ERROR_ARGUMENT);
}

/* Every call with a closed handle answers XLMEDGE_ERROR_ARGUMENT saying so. */
static void closed_handles(const char *path) {
    xlmedge_model *a = NULL, *b = NULL;
    CHECK_STATUS(xlmedge_open(path, 1, &a), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_close(a), XLMEDGE_OK);
    xlmedge_candidate c[5];
    int32_t n, id;
    const char *s;
    char *json;
    xlmedge_model_info info = { .size = sizeof info };
    const char *texts[] = { "a <special1>" }, *langs[] = { "en" };
    CHECK_ERROR(xlmedge_fill_mask(a, "a <special1>", "en", 5, c, 5, &n), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_fill_mask_batch(a, texts, langs, 1, 5, c, 5, &n), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_fill_mask_json(a, "a <special1>", "en", 5, &json), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_tokenize(a, "a", "en", &id, 1, &n), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_vocab_size(a, &n), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_token_text(a, 0, &s), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_token_id(a, "<s>", &id), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_language_count(a, &n), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_language(a, 0, &s), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_language_id(a, "en", &id), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_get_model_info(a, &info), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_close(a), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_fill_mask((xlmedge_model *)(uintptr_t)0x1234, "a <special1>", "en", 5, c, 5, &n), XLMEDGE_ERROR_ARGUMENT, "is closed");

    /* A stray second close of a stale handle must not close a model opened since. */
    for (int i = 0; i < 4; i++) {
        CHECK_STATUS(xlmedge_open(path, 1, &a), XLMEDGE_OK);
        CHECK_STATUS(xlmedge_close(a), XLMEDGE_OK);
        CHECK_STATUS(xlmedge_open(path, 1, &b), XLMEDGE_OK);
        CHECK(a != b);
        CHECK_STATUS(xlmedge_close(a), XLMEDGE_ERROR_ARGUMENT);
        CHECK_STATUS(xlmedge_fill_mask(b, "a <special1>", "en", 5, c, 5, &n), XLMEDGE_OK);
        CHECK_STATUS(xlmedge_close(b), XLMEDGE_OK);
    }
}

/* The same error for non-finite results as in C# and the console. */
static void non_finite(const char *nan_path) {
    xlmedge_model *m = NULL;
    CHECK_STATUS(xlmedge_open(nan_path, 1, &m), XLMEDGE_OK);
    xlmedge_candidate c[5];
    int32_t n;
    CHECK_ERROR(xlmedge_fill_mask(m, "a <special1> b", "en", 5, c, 5, &n), XLMEDGE_ERROR_MODEL_FILE,
                "the model produced non-finite logits");
    char *json = NULL;
    CHECK_ERROR(xlmedge_fill_mask_json(m, "a <special1> b", "en", 5, &json), XLMEDGE_ERROR_MODEL_FILE, "non-finite logits");
    CHECK(json == NULL);
    CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
}

/* Generation and scoring on a causal model (MODEL is a masked one, for the errors between kinds). */
static void causal(const char *clm_path, xlmedge_model *mlm) {
    xlmedge_model *m = NULL;
    CHECK_STATUS(xlmedge_open(clm_path, 2, &m), XLMEDGE_OK);
    xlmedge_model_info info = { .size = sizeof info };
    CHECK_STATUS(xlmedge_get_model_info(m, &info), XLMEDGE_OK);
    CHECK(info.causal == 1);

    xlmedge_generate_params p = xlmedge_generate_default_params();
    CHECK(p.size == sizeof p && p.max_tokens == 32 && p.temperature == 0 && p.top_k == 0 && p.top_p == 1 && p.seed == 0);
    p.max_tokens = 6;
    int32_t ids[64], again[64], n = -1, n2 = -1;
    char *text = (char *)1;
    CHECK_STATUS(xlmedge_generate(m, "the cat sat on the", "en", &p, ids, 64, &n, &text), XLMEDGE_OK);
    CHECK(n >= 1 && n <= 6 && text != NULL);
    for (int32_t i = 0; i < n; i++)
        CHECK(ids[i] >= 0 && ids[i] < info.vocab_size);
    /* Greedy twice, and through the JSON call: the same ids. */
    CHECK_STATUS(xlmedge_generate(m, "the cat sat on the", "en", &p, again, 6, &n2, NULL), XLMEDGE_OK);
    CHECK(n2 == n && memcmp(ids, again, sizeof(int32_t) * (size_t)n) == 0);
    char *json = NULL, expected[512];
    int at = snprintf(expected, sizeof expected, "\"generated_ids\":[");
    for (int32_t i = 0; i < n; i++)
        at += snprintf(expected + at, sizeof expected - (size_t)at, i ? ",%d" : "%d", ids[i]);
    snprintf(expected + at, sizeof expected - (size_t)at, "]");
    CHECK_STATUS(xlmedge_generate_json(m, "the cat sat on the", "en", &p, &json), XLMEDGE_OK);
    CHECK(json != NULL && strstr(json, expected) != NULL && strstr(json, "\"generated_text\":\"the cat sat on the") != NULL);
    CHECK(json != NULL && strstr(json, "\"stop_reason\":\"") != NULL);
    CHECK(json != NULL && strstr(json, text) != NULL);
    xlmedge_free(json);
    xlmedge_free(text);
    /* NULL params are the defaults (greedy, 32 tokens). */
    CHECK_STATUS(xlmedge_generate(m, "the cat sat on the", "en", NULL, again, 32, &n2, NULL), XLMEDGE_OK);
    CHECK(n2 >= n && memcmp(ids, again, sizeof(int32_t) * (size_t)n) == 0);

    /* Seeded sampling: the same seed draws the same ids, another seed others. */
    xlmedge_generate_params s = p;
    s.max_tokens = 20;
    s.temperature = 1.0f;
    s.top_k = 40;
    s.top_p = 0.95f;
    s.seed = 42;
    CHECK_STATUS(xlmedge_generate(m, "le chat", "fr", &s, ids, 64, &n, NULL), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_generate(m, "le chat", "fr", &s, again, 64, &n2, NULL), XLMEDGE_OK);
    CHECK(n == n2 && memcmp(ids, again, sizeof(int32_t) * (size_t)n) == 0);
    s.seed = 43;
    CHECK_STATUS(xlmedge_generate(m, "le chat", "fr", &s, again, 64, &n2, NULL), XLMEDGE_OK);
    CHECK(n != n2 || memcmp(ids, again, sizeof(int32_t) * (size_t)n) != 0);
    /* A caller built against a shorter struct (size and max_tokens only): the rest are the defaults. */
    xlmedge_generate_params older = s;
    older.size = 8;
    older.max_tokens = 6;
    CHECK_STATUS(xlmedge_generate(m, "the cat sat on the", "en", &older, again, 6, &n2, NULL), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_generate(m, "the cat sat on the", "en", &p, ids, 6, &n, NULL), XLMEDGE_OK);
    CHECK(n == n2 && memcmp(ids, again, sizeof(int32_t) * (size_t)n) == 0);

    /* Score: the per-token log probabilities add up to the log-likelihood; one per id after <s>. */
    double ll = 0, ppl = 0, lp[64];
    int32_t tokens[64], n_tokens = 0;
    CHECK_STATUS(xlmedge_tokenize(m, "the cat sat on the mat .", "en", tokens, 64, &n_tokens), XLMEDGE_OK);
    CHECK_STATUS(xlmedge_score(m, "the cat sat on the mat .", "en", &ll, &ppl, lp, 64, &n), XLMEDGE_OK);
    CHECK(n == n_tokens - 1);
    double sum = 0;
    for (int32_t i = 0; i < n; i++) {
        CHECK(lp[i] < 0 && isfinite(lp[i]));
        sum += lp[i];
    }
    CHECK(fabs(sum - ll) <= 1e-9 * fabs(ll) && ll < 0);
    CHECK(fabs(ppl - exp(-ll / n)) <= 1e-9 * ppl && ppl > 1);
    double ll2 = 0, ppl2 = 0;
    CHECK_STATUS(xlmedge_score(m, "the cat sat on the mat .", "en", &ll2, &ppl2, NULL, 0, &n2), XLMEDGE_OK);
    CHECK(ll2 == ll && ppl2 == ppl && n2 == n);
    n2 = -1;
    CHECK_STATUS(xlmedge_score(m, "the cat sat on the mat .", "en", &ll2, &ppl2, lp, 2, &n2), XLMEDGE_ERROR_BUFFER_TOO_SMALL);
    CHECK(n2 == n && ll2 == ll);
    CHECK_STATUS(xlmedge_score_json(m, "the cat sat on the mat .", "en", &json), XLMEDGE_OK);
    CHECK(json != NULL && strstr(json, "\"token_log_probs\":[") != NULL && strstr(json, "\"log_likelihood\":") != NULL
          && strstr(json, "\"perplexity\":") != NULL);
    xlmedge_free(json);

    /* Bad arguments and input. */
    CHECK_ERROR(xlmedge_generate(NULL, "a", "en", &p, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "model is NULL");
    CHECK_ERROR(xlmedge_generate(m, NULL, "en", &p, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "prompt is NULL");
    CHECK_ERROR(xlmedge_generate(m, "a", NULL, &p, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "lang is NULL");
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &p, ids, 64, NULL, NULL), XLMEDGE_ERROR_ARGUMENT, "out_count is NULL");
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &p, NULL, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "out_ids is NULL");
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &p, ids, 5, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "max_tokens (6)");
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &p, ids, -1, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "capacity");
    xlmedge_generate_params bad = p;
    bad.size = 0;
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &bad, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "size");
    bad = p;
    bad.max_tokens = 0;
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &bad, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "max_tokens");
    bad = p;
    bad.temperature = -1;
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &bad, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "temperature");
    bad.temperature = NAN;
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &bad, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "temperature");
    bad = p;
    bad.top_p = 0;
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &bad, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "top-p");
    bad = p;
    bad.top_k = -1;
    CHECK_ERROR(xlmedge_generate_json(m, "a", "en", &bad, &json), XLMEDGE_ERROR_ARGUMENT, "TopK");
    text = (char *)1;
    CHECK_ERROR(xlmedge_generate(m, "a", "de", &p, ids, 64, &n, &text), XLMEDGE_ERROR_INPUT, "unsupported language");
    CHECK(text == NULL);
    CHECK_ERROR(xlmedge_generate(m, BAD_UTF8, "en", &p, ids, 64, &n, NULL), XLMEDGE_ERROR_INPUT, "UTF-8");
    CHECK_ERROR(xlmedge_generate_json(m, "a", "en", &p, NULL), XLMEDGE_ERROR_ARGUMENT, "out_json is NULL");
    CHECK_ERROR(xlmedge_score(m, "a", "en", NULL, &ppl, NULL, 0, &n), XLMEDGE_ERROR_ARGUMENT, "out_log_likelihood is NULL");
    CHECK_ERROR(xlmedge_score(m, "a", "en", &ll, NULL, NULL, 0, &n), XLMEDGE_ERROR_ARGUMENT, "out_perplexity is NULL");
    CHECK_ERROR(xlmedge_score(m, "a", "en", &ll, &ppl, NULL, 0, NULL), XLMEDGE_ERROR_ARGUMENT, "out_count is NULL");
    CHECK_ERROR(xlmedge_score(m, "a", "en", &ll, &ppl, lp, -1, &n), XLMEDGE_ERROR_ARGUMENT, "capacity");
    CHECK_ERROR(xlmedge_score(m, NULL, "en", &ll, &ppl, NULL, 0, &n), XLMEDGE_ERROR_ARGUMENT, "text is NULL");
    CHECK_ERROR(xlmedge_score(m, "a", "xx", &ll, &ppl, NULL, 0, &n), XLMEDGE_ERROR_INPUT, "unsupported language");
    json = (char *)1;
    CHECK_ERROR(xlmedge_score_json(m, BAD_UTF8, "en", &json), XLMEDGE_ERROR_INPUT, "UTF-8");
    CHECK(json == NULL);

    /* Each kind refuses the other's job. */
    xlmedge_candidate c[5];
    CHECK_ERROR(xlmedge_fill_mask(m, "the <special1> sat", "en", 5, c, 5, &n), XLMEDGE_ERROR_INPUT, "causal language model");
    CHECK_ERROR(xlmedge_generate(mlm, "the cat", "en", &p, ids, 64, &n, NULL), XLMEDGE_ERROR_INPUT, "masked language model");
    CHECK_ERROR(xlmedge_generate_json(mlm, "the cat", "en", &p, &json), XLMEDGE_ERROR_INPUT, "masked language model");
    CHECK_ERROR(xlmedge_score(mlm, "the cat", "en", &ll, &ppl, NULL, 0, &n), XLMEDGE_ERROR_INPUT, "masked language model");
    CHECK_ERROR(xlmedge_score_json(mlm, "the cat", "en", &json), XLMEDGE_ERROR_INPUT, "masked language model");

    CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
    CHECK_ERROR(xlmedge_generate(m, "a", "en", &p, ids, 64, &n, NULL), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_generate_json(m, "a", "en", &p, &json), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_score(m, "a", "en", &ll, &ppl, NULL, 0, &n), XLMEDGE_ERROR_ARGUMENT, "is closed");
    CHECK_ERROR(xlmedge_score_json(m, "a", "en", &json), XLMEDGE_ERROR_ARGUMENT, "is closed");
}

/* A causal model with a NaN weight: generation and scoring refuse it as fill-mask does. */
static void causal_non_finite(const char *nan_clm_path) {
    xlmedge_model *m = NULL;
    CHECK_STATUS(xlmedge_open(nan_clm_path, 1, &m), XLMEDGE_OK);
    int32_t ids[8], n;
    double ll, ppl;
    char *text = (char *)1;
    CHECK_ERROR(xlmedge_generate(m, "the cat", "en", NULL, ids, 8, &n, &text), XLMEDGE_ERROR_ARGUMENT, "max_tokens (32)");
    xlmedge_generate_params p = xlmedge_generate_default_params();
    p.max_tokens = 8;
    CHECK_ERROR(xlmedge_generate(m, "the cat", "en", &p, ids, 8, &n, &text), XLMEDGE_ERROR_MODEL_FILE, "the model produced non-finite logits");
    CHECK(text == NULL);
    CHECK_ERROR(xlmedge_score(m, "the cat", "en", &ll, &ppl, NULL, 0, &n), XLMEDGE_ERROR_MODEL_FILE, "non-finite logits");
    CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
}

/* Threads that fail once and exit: each thread's last error must not outlive it (valgrind). */
static void *fail_once(void *model) {
    xlmedge_candidate c[1];
    int32_t n;
    int32_t status = xlmedge_fill_mask((xlmedge_model *)model, "no mask", "en", 1, c, 1, &n);
    return (void *)(intptr_t)(status == XLMEDGE_ERROR_INPUT && strstr(xlmedge_last_error(), "no mask") != NULL);
}

static void errors_on_threads(xlmedge_model *m) {
    pthread_t threads[8];
    for (int i = 0; i < 8; i++)
        CHECK(pthread_create(&threads[i], NULL, fail_once, m) == 0);
    for (int i = 0; i < 8; i++) {
        void *ok = NULL;
        pthread_join(threads[i], &ok);
        CHECK(ok != NULL);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: %s MODEL.gguf [NAN_MODEL.gguf [CLM_MODEL.gguf [NAN_CLM_MODEL.gguf]]]\n", argv[0]);
        return 2;
    }
    versions_and_statuses();
    opening(argv[1]);
    xlmedge_model *m = NULL;
    CHECK_STATUS(xlmedge_open(argv[1], 2, &m), XLMEDGE_OK);
    calls(m);
    errors_on_threads(m);
    if (argc >= 4)
        causal(argv[3], m);
    CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
    closed_handles(argv[1]);
    if (argc >= 3)
        non_finite(argv[2]);
    if (argc >= 5)
        causal_non_finite(argv[4]);
    for (int i = 0; i < 200; i++) {
        xlmedge_model *cycle = NULL;
        if (xlmedge_open(argv[1], 1, &cycle) != XLMEDGE_OK || xlmedge_close(cycle) != XLMEDGE_OK) {
            CHECK(0);
            break;
        }
    }
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
