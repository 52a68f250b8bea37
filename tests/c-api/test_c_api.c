/* The C API from C: every function with NULLs, closed handles, zero capacities, bad UTF-8 and a
 * missing file; stale handles; non-finite results; errors on many threads; 200 open/close cycles.
 * Run under valgrind by run.sh, which fails on any definite leak.
 * usage: test_c_api MODEL.gguf [NAN_MODEL.gguf] */
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
    for (int32_t s = XLMEDGE_ERROR_ARGUMENT; s <= XLMEDGE_ERROR_INTERNAL; s++)
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
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s MODEL.gguf [NAN_MODEL.gguf]\n", argv[0]);
        return 2;
    }
    versions_and_statuses();
    opening(argv[1]);
    xlmedge_model *m = NULL;
    CHECK_STATUS(xlmedge_open(argv[1], 2, &m), XLMEDGE_OK);
    calls(m);
    errors_on_threads(m);
    CHECK_STATUS(xlmedge_close(m), XLMEDGE_OK);
    closed_handles(argv[1]);
    if (argc == 3)
        non_finite(argv[2]);
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
