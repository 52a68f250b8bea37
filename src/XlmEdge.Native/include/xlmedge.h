/*
 * xlmedge.h - C API of XlmEdge: the XLM language models on the CPU: fill-mask with a masked model
 * (xlm-mlm-*), generation and scoring with a causal one (xlm-clm-*).
 *
 * Tutorial
 *   xlmedge_model_params params = xlmedge_model_default_params();
 *   params.threads = 4;
 *   xlmedge_model *m = NULL;
 *   if (xlmedge_open_with_params("model.gguf", &params, &m) != XLMEDGE_OK) {
 *       fprintf(stderr, "error: %s\n", xlmedge_last_error());
 *       return 1;
 *   }
 *   xlmedge_candidate c[5];
 *   int32_t n = 0;
 *   if (xlmedge_fill_mask(m, "Paris is the <special1> of France .", "en", 5, c, 5, &n) == XLMEDGE_OK)
 *       for (int i = 0; i < n; i++) printf("%s %.4f\n", c[i].token_str, c[i].score);
 *   xlmedge_close(m);
 *
 * Build: cc prog.c $(pkg-config --cflags --libs xlmedge), or find_package(xlmedge) in CMake.
 *
 * Rules
 *   - Strings are UTF-8 and NUL-terminated; text that is not valid UTF-8 is refused
 *     (XLMEDGE_ERROR_INPUT). Every function that can fail returns an xlmedge_status; on failure
 *     xlmedge_last_error() gives a one-line message for the calling thread (valid until that
 *     thread's next failing call). No C++ or .NET exception ever crosses this boundary.
 *   - Thread safety: every function may be called from any thread. Calls on one model are
 *     serialised (each call already uses all of the model's threads; xlmedge_generate holds the
 *     model until its last token, and its key/value cache lives in the model, so one model
 *     generates for one caller at a time: open the file twice for two at once, the mapping is
 *     shared). Do not close a model while another thread is still calling it.
 *   - Handles: a closed handle is detected, never reused for a later model: any call with it,
 *     a second xlmedge_close included, answers XLMEDGE_ERROR_ARGUMENT ("... is closed").
 *   - Ownership: strings returned through `const char **` and the token_str of candidates are
 *     owned by the model and stay valid until xlmedge_close. Strings returned through `char **`
 *     are the caller's, freed with xlmedge_free. Static strings (version, info, status names)
 *     live as long as the library.
 *   - The model file is memory-mapped, not read (as llama.cpp maps its models): it must stay
 *     unchanged while the model is open. Truncating it or writing into it in place is undefined
 *     behaviour; a read past its new end raises SIGBUS, which ends the process. Replace a model file
 *     by writing a new file and renaming it over the old one (xlmedge-weights pack does so): an open
 *     model keeps the old one.
 *   - A model whose weights hold NaN or infinity makes fill-mask, generation and scoring fail with
 *     XLMEDGE_ERROR_MODEL_FILE ("the model produced non-finite logits ...") rather than rank or sample NaNs.
 *   - x64: libxlmedge.so is a small shim that, when loaded, loads the build for this CPU from its own
 *     directory, libxlmedge-v4.so (x86-64-v4, AVX-512) or libxlmedge-v3.so (x86-64-v3, AVX2 + FMA;
 *     XLMEDGE_X64_LEVEL=v3 in the environment forces it), and forwards every function to it. If it cannot
 *     (a CPU below x86-64-v3, a missing file), every function fails with the reason: XLMEDGE_ERROR_INTERNAL,
 *     and the message from xlmedge_last_error() and the other functions that return a string.
 *   - Model kinds: a masked model (xlm-mlm-*, xlmedge_model_info.causal == 0) fills masks; a causal
 *     one (xlm-clm-*) generates and scores. Asking either for the other's job is XLMEDGE_ERROR_INPUT
 *     ("this is a masked language model ..." / "this is a causal language model ...").
 */
#ifndef XLMEDGE_H
#define XLMEDGE_H

#include <stdint.h>

/* The version of this header; xlmedge_version() gives the library's at run time. The .NET build
 * reads these lines: they are the one place the version of every XlmEdge artefact is set. */
#define XLMEDGE_VERSION_MAJOR 0
#define XLMEDGE_VERSION_MINOR 2
#define XLMEDGE_VERSION_PATCH 0
/* Bumped on every change that breaks binary compatibility; the SONAME is libxlmedge.so.<ABI>. */
#define XLMEDGE_ABI_VERSION 1

#if defined(_WIN32)
#  define XLMEDGE_API __declspec(dllimport)
#elif defined(__GNUC__)
#  define XLMEDGE_API __attribute__((visibility("default")))
#else
#  define XLMEDGE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xlmedge_model xlmedge_model;

typedef enum xlmedge_status {
    XLMEDGE_OK = 0,
    XLMEDGE_ERROR_ARGUMENT = 1,         /* a NULL pointer, top_k < 1, a closed handle, an unknown option,
                                           generation params out of range */
    XLMEDGE_ERROR_MODEL_FILE = 2,       /* missing, malformed or hostile model file; not an XLM model;
                                           non-finite results from NaN or infinite weights */
    XLMEDGE_ERROR_INPUT = 3,            /* unknown language, no mask, too many masks or tokens, bad UTF-8,
                                           a model of the other kind (fill-mask on a causal model, ...) */
    XLMEDGE_ERROR_BUFFER_TOO_SMALL = 4, /* *out_count tells how many entries are needed */
    XLMEDGE_ERROR_INTERNAL = 5,         /* a bug: please report the message */
    XLMEDGE_ERROR_MEMORY_LOCK = 6       /* lock_memory: the OS would not lock the model in RAM (the message
                                           names the limit to raise: RLIMIT_MEMLOCK, ulimit -l) */
} xlmedge_status;

enum { XLMEDGE_BACKEND_CPU = 0 };          /* xlmedge_model_params.backend */
enum { XLMEDGE_WEIGHTS_AS_STORED = 0 };    /* xlmedge_model_params.weight_type */

/* Options for xlmedge_open_with_params. Start from xlmedge_model_default_params(): it sets `size`,
 * which lets later versions add fields at the end without breaking programs built against this one. */
typedef struct xlmedge_model_params {
    uint32_t size;        /* sizeof(xlmedge_model_params) of the caller's header */
    int32_t threads;      /* kernel threads, the calling one included; <= 0: one per core */
    int32_t backend;      /* XLMEDGE_BACKEND_CPU: the only backend of this library */
    int32_t weight_type;  /* XLMEDGE_WEIGHTS_AS_STORED: compute with the file's own weight type */
    int32_t lock_memory;  /* nonzero: lock the mapped model in RAM at load (mlock), so that the OS cannot
                             page weights out between calls; 0 (default): map and read on demand */
} xlmedge_model_params;

/* One candidate for one mask, best first within each mask. Names as Hugging Face's fill-mask pipeline. */
typedef struct xlmedge_candidate {
    int32_t input_index;     /* which text of a batch (0 for xlmedge_fill_mask) */
    int32_t mask_position;   /* index of the mask in the input ids (<s> is index 0) */
    int32_t token;           /* vocabulary id */
    float logit;             /* the raw output-layer score */
    double score;            /* softmax over the whole vocabulary */
    const char *token_str;   /* the token decoded for display ("paris", no </w>); owned by the model */
} xlmedge_candidate;

/* Options for xlmedge_generate and xlmedge_generate_json. Start from xlmedge_generate_default_params()
 * (greedy, 32 new tokens): it sets `size`, so later versions can add fields at the end. Sampling draws
 * from XlmEdge's own generator (SplitMix64): the same model file, prompt, params and SIMD path give
 * the same tokens on every run and machine. */
typedef struct xlmedge_generate_params {
    uint32_t size;        /* sizeof(xlmedge_generate_params) of the caller's header */
    int32_t max_tokens;   /* most new tokens, >= 1; generation also stops at </s> or a full context */
    float temperature;    /* 0: greedy (the most likely token, lowest id on a tie); > 0: sample softmax(logits / T) */
    int32_t top_k;        /* sample among the top_k most likely tokens only; 0: all */
    float top_p;          /* then among the most likely whose probabilities reach top_p (nucleus), in (0, 1]; 1: all */
    uint64_t seed;        /* seed of the sampler */
} xlmedge_generate_params;

/* What xlmedge_get_model_info reports. Set `size` to sizeof(xlmedge_model_info) before the call; on
 * return it is the number of bytes this library filled (later versions may add fields at the end). */
typedef struct xlmedge_model_info {
    uint32_t size;
    const char *weight_type;    /* "f16", "f32" or "q8"; owned by the model */
    int32_t vocab_size;
    int32_t embedding_length;
    int32_t block_count;
    int32_t head_count;
    int32_t context_length;     /* most tokens per text, <s> and </s> included */
    int32_t language_count;
    int32_t mask_token;         /* id of the mask token (<special1>) */
    int32_t causal;             /* 1: a causal language model (xlm-clm-*), which fill-mask refuses; else 0 */
} xlmedge_model_info;

/* Library version, e.g. "0.2.0" (the XLMEDGE_VERSION_* it was built with). Static storage. */
XLMEDGE_API const char *xlmedge_version(void);

/* What this library runs on this machine, as one JSON object (static storage; callable before any
 * model is open), e.g. {"version":"0.2.0","abi":1,"simd":"avx2+fma"}: the library version, its ABI
 * number (XLMEDGE_ABI_VERSION it was built with) and the kernels' SIMD path: "avx512", "avx2+fma",
 * "advsimd", "sse4.1" or "scalar" (fixed by the CPU and the instruction-set baseline of the build
 * that runs: on x64 the widest of x86-64-v4 and x86-64-v3 the CPU runs;
 * XLMEDGE_SIMD=scalar|vector128|vector256 in the environment forces a narrower one). More fields may be added: parse it as JSON. For logs, bug reports and deployment checks. */
XLMEDGE_API const char *xlmedge_info(void);

/* Message of the calling thread's last failure ("" if none). */
XLMEDGE_API const char *xlmedge_last_error(void);

/* A short name for a status ("ok", "invalid argument", ...). Static storage; never NULL. */
XLMEDGE_API const char *xlmedge_status_string(int32_t status);

/* The model's geometry, languages and weight type. */
XLMEDGE_API int32_t xlmedge_get_model_info(const xlmedge_model *model, xlmedge_model_info *out_info);

/* The defaults: one thread per core, CPU, the file's weight type. */
XLMEDGE_API xlmedge_model_params xlmedge_model_default_params(void);

/* Maps a .gguf file made by xlmedge-weights. params may be NULL (the defaults). On failure
 * *out_model is NULL. */
XLMEDGE_API int32_t xlmedge_open_with_params(const char *path, const xlmedge_model_params *params,
                                             xlmedge_model **out_model);

/* Shorthand for xlmedge_open_with_params with only the thread count set (<= 0: one per core). */
XLMEDGE_API int32_t xlmedge_open(const char *path, int32_t threads, xlmedge_model **out_model);

/* Releases the model and everything it owns. NULL is ignored (XLMEDGE_OK); a closed handle is
 * XLMEDGE_ERROR_ARGUMENT. */
XLMEDGE_API int32_t xlmedge_close(xlmedge_model *model);

/* Fills every mask of text: writes top_k candidates per mask into out (masks in input order; top_k
 * above the vocabulary size is clamped to it). capacity is the length of out; *out_count receives
 * the number of candidates, also when they do not fit (XLMEDGE_ERROR_BUFFER_TOO_SMALL). */
XLMEDGE_API int32_t xlmedge_fill_mask(xlmedge_model *model, const char *text, const char *lang, int32_t top_k,
                                      xlmedge_candidate *out, int32_t capacity, int32_t *out_count);

/* xlmedge_fill_mask over count texts in one pass (texts[i] in language langs[i]); candidates of
 * text i carry input_index i and come after those of text i - 1. At most 64 masks in all. */
XLMEDGE_API int32_t xlmedge_fill_mask_batch(xlmedge_model *model, const char *const *texts, const char *const *langs,
                                            int32_t count, int32_t top_k,
                                            xlmedge_candidate *out, int32_t capacity, int32_t *out_count);

/* The result as one JSON object (the shape of `xlmedge fill-mask` JSON lines: "score", "token",
 * "token_str", "sequence", "logit" per candidate), in *out_json; free it with xlmedge_free. */
XLMEDGE_API int32_t xlmedge_fill_mask_json(xlmedge_model *model, const char *text, const char *lang, int32_t top_k,
                                           char **out_json);

/* The model input ids of text: <s>, the token ids, </s>. *out_count receives the number of ids,
 * also when they do not fit in capacity (XLMEDGE_ERROR_BUFFER_TOO_SMALL). */
XLMEDGE_API int32_t xlmedge_tokenize(xlmedge_model *model, const char *text, const char *lang,
                                     int32_t *out_ids, int32_t capacity, int32_t *out_count);

/* Number of vocabulary entries. */
XLMEDGE_API int32_t xlmedge_vocab_size(xlmedge_model *model, int32_t *out_size);

/* The vocabulary entry of id as spelled in the vocabulary ("paris</w>"); owned by the model. */
XLMEDGE_API int32_t xlmedge_token_text(xlmedge_model *model, int32_t id, const char **out_text);

/* The id of the vocabulary entry spelled exactly token; XLMEDGE_ERROR_INPUT if there is none. */
XLMEDGE_API int32_t xlmedge_token_id(xlmedge_model *model, const char *token, int32_t *out_id);

/* Number of languages of the model. */
XLMEDGE_API int32_t xlmedge_language_count(xlmedge_model *model, int32_t *out_count);

/* The code of language id index ("en"); owned by the model. */
XLMEDGE_API int32_t xlmedge_language(xlmedge_model *model, int32_t index, const char **out_lang);

/* The language id of a code; XLMEDGE_ERROR_INPUT if the model has no such language. */
XLMEDGE_API int32_t xlmedge_language_id(xlmedge_model *model, const char *lang, int32_t *out_id);

/* The generation defaults: greedy, max_tokens 32, top_k 0, top_p 1, seed 0. */
XLMEDGE_API xlmedge_generate_params xlmedge_generate_default_params(void);

/* Continues prompt (a causal model only) with up to params->max_tokens new tokens, each computed from
 * the cached keys and values of the ones before it. The model input is <s> and the prompt's token ids
 * (no </s>: the text goes on); every new token gets language lang. params may be NULL (the defaults).
 * Writes the new token ids into out_ids and their number into *out_count; the last id is </s> (1 in
 * the XLM vocabularies) when the model ended the sentence. capacity must be at least max_tokens
 * (checked before any work: XLMEDGE_ERROR_ARGUMENT). out_text may be NULL; otherwise *out_text
 * receives the new tokens decoded for display, the caller's to free with xlmedge_free (NULL on
 * failure). Token strings: xlmedge_token_text. Out-of-range params: XLMEDGE_ERROR_ARGUMENT. */
XLMEDGE_API int32_t xlmedge_generate(xlmedge_model *model, const char *prompt, const char *lang,
                                     const xlmedge_generate_params *params,
                                     int32_t *out_ids, int32_t capacity, int32_t *out_count, char **out_text);

/* xlmedge_generate's result as one JSON object, the shape of `xlmedge generate` JSON lines:
 * {"generated_text" (prompt and continuation, as Hugging Face's text-generation pipeline), "text"
 * (the continuation), "input_ids" (the prompt's), "generated_ids", "generated_tokens", "stop_reason"
 * ("end_of_sentence", "max_tokens" or "context_full")}, in *out_json; free it with xlmedge_free. */
XLMEDGE_API int32_t xlmedge_generate_json(xlmedge_model *model, const char *prompt, const char *lang,
                                          const xlmedge_generate_params *params, char **out_json);

/* How likely a causal model finds text: the model input is <s>, the text's token ids and </s>, and
 * every id after <s> is predicted from the ones before it. Writes the log-likelihood (the sum of the
 * natural-log probabilities) and the perplexity exp(-log_likelihood / n) (infinity if that overflows),
 * and n, the number of predicted ids, into *out_count. out_token_log_probs[i] receives
 * log P(id i + 1 | ids 0..i); pass NULL and capacity 0 for the totals only. A buffer shorter than n is
 * XLMEDGE_ERROR_BUFFER_TOO_SMALL, with *out_count and the totals still written. */
XLMEDGE_API int32_t xlmedge_score(xlmedge_model *model, const char *text, const char *lang,
                                  double *out_log_likelihood, double *out_perplexity,
                                  double *out_token_log_probs, int32_t capacity, int32_t *out_count);

/* xlmedge_score's result as one JSON object, the shape of `xlmedge score` JSON lines: {"tokens",
 * "input_ids", "token_log_probs", "log_likelihood", "perplexity" (null if infinite)}, in *out_json;
 * free it with xlmedge_free. */
XLMEDGE_API int32_t xlmedge_score_json(xlmedge_model *model, const char *text, const char *lang, char **out_json);

/* Frees a string returned through char ** by this library. NULL is ignored. */
XLMEDGE_API void xlmedge_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* XLMEDGE_H */
