/*
 * xlmedge.h - C API of XlmEdge: the XLM masked-language model (fill-mask) on the CPU.
 *
 * Tutorial
 *   xlmedge_model *m = NULL;
 *   if (xlmedge_open("model.gguf", 0, &m) != XLMEDGE_OK) {
 *       fprintf(stderr, "error: %s\n", xlmedge_last_error());
 *       return 1;
 *   }
 *   xlmedge_candidate c[5];
 *   int32_t n = 0;
 *   if (xlmedge_fill_mask(m, "Paris is the <special1> of France .", "en", 5, c, 5, &n) == XLMEDGE_OK)
 *       for (int i = 0; i < n; i++) printf("%s %.4f\n", c[i].token, c[i].probability);
 *   xlmedge_close(m);
 *
 * Rules
 *   - Strings are UTF-8 and NUL-terminated. Every function returns a status; on failure
 *     xlmedge_last_error() gives a one-line message for the calling thread (valid until that
 *     thread's next call). No C++ or .NET exception ever crosses this boundary.
 *   - A model may be used from several threads; calls on one model are serialised.
 *   - Token strings in xlmedge_candidate are owned by the model and stay valid until
 *     xlmedge_close. Strings returned through char** are freed with xlmedge_free.
 */
#ifndef XLMEDGE_H
#define XLMEDGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xlmedge_model xlmedge_model;

typedef enum xlmedge_status {
    XLMEDGE_OK = 0,
    XLMEDGE_ERROR_ARGUMENT = 1,      /* a NULL pointer, top_k < 1, a capacity below what is needed */
    XLMEDGE_ERROR_MODEL_FILE = 2,    /* missing, malformed or hostile model file; not an XLM model */
    XLMEDGE_ERROR_INPUT = 3,         /* unknown language, no mask, too many masks, too many tokens */
    XLMEDGE_ERROR_BUFFER_TOO_SMALL = 4, /* *out_count tells how many entries are needed */
    XLMEDGE_ERROR_INTERNAL = 5       /* a bug: please report the message */
} xlmedge_status;

/* One candidate for one mask, most probable first within each mask. */
typedef struct xlmedge_candidate {
    int32_t mask_position;   /* index of the mask in the input ids (<s> is index 0) */
    int32_t id;              /* vocabulary id */
    const char *token;       /* BPE unit, owned by the model */
    double probability;      /* softmax over the whole vocabulary */
    float logit;
} xlmedge_candidate;

/* Library version, e.g. "0.1.0". Static storage. */
const char *xlmedge_version(void);

/* What this build runs on this machine, as one JSON object (static storage), e.g.
   {"version":"0.1.0","simd":"avx2+fma"}. "simd" is the kernels' path: "avx512", "avx2+fma",
   "advsimd", "sse4.1" or "scalar" (fixed by the CPU and the instruction-set baseline the library
   was published for; XLMEDGE_SIMD in the environment can force a narrower one). More fields may
   be added; parse it as JSON. */
const char *xlmedge_info(void);

/* Message of the calling thread's last failure ("" if none). */
const char *xlmedge_last_error(void);

/* Maps a .gguf file made by xlmedge-weights. threads <= 0: one per core.
 * The file is memory-mapped, not read (as llama.cpp maps its models): it must stay unchanged while
 * the model is open. Truncating it or writing into it in place is undefined behaviour; a read past
 * its new end raises SIGBUS, which ends the process. Replace a model file by writing a new file
 * and renaming it over the old one (xlmedge-weights pack does so): an open model keeps the old one. */
int32_t xlmedge_open(const char *path, int32_t threads, xlmedge_model **out_model);

/* Releases the model; NULL is ignored. */
void xlmedge_close(xlmedge_model *model);

/* Fills every mask of text: writes top_k candidates per mask into out (masks in input order).
 * capacity is the length of out; *out_count receives masks * top_k (also when it does not fit). */
int32_t xlmedge_fill_mask(xlmedge_model *model, const char *text, const char *lang, int32_t top_k,
                          xlmedge_candidate *out, int32_t capacity, int32_t *out_count);

/* The same result as one JSON object (the shape of `xlmedge fill-mask` JSON lines), in *out_json;
 * free it with xlmedge_free. */
int32_t xlmedge_fill_mask_json(xlmedge_model *model, const char *text, const char *lang, int32_t top_k,
                               char **out_json);

/* Frees a string returned by this library. NULL is ignored. */
void xlmedge_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* XLMEDGE_H */
