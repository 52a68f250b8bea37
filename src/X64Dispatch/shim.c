/*
 * The x64 libxlmedge.so: a shim that loads the Native AOT build of the library for this CPU from its
 * own directory, libxlmedge-v4.so (x86-64-v4, AVX-512) or libxlmedge-v3.so (x86-64-v3, AVX2 + FMA), when
 * it is loaded itself, and exports every function of xlmedge.h as a jump through a pointer into that
 * build: one indirect jump per call, arguments and results untouched (so no signature is written here;
 * the list of functions is generated from xlmedge.h by gen-forwarders.sh).
 *
 * If no build can be loaded (a CPU below x86-64-v3, a missing or mismatched file), every function
 * answers with the reason instead: XLMEDGE_ERROR_INTERNAL from the functions that return a status, the
 * message from those that return a string (xlmedge_last_error, xlmedge_info, ...), zeroed defaults, and
 * xlmedge_free does nothing. See x64_level.h for the choice and XLMEDGE_X64_LEVEL.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>

#include "x64_level.h"
#include "xlmedge.h"

static char load_error[PATH_MAX + 512] = "libxlmedge.so: not initialised";

/* What each function does when no build is loaded; called through the same jump as the real one, so
 * with the caller's arguments, which these ignore (the x86-64 calling convention allows it). */
#define FALLBACK_STATUS(type) { return XLMEDGE_ERROR_INTERNAL; }
#define FALLBACK_STRING(type) { return load_error; }
#define FALLBACK_VOID(type) {}
#define FALLBACK_VALUE(type) { type value; memset(&value, 0, sizeof value); return value; }
#define XLMEDGE_FORWARD(kind, type, name) static type fallback_##name(void) FALLBACK_##kind(type)
#include "xlmedge-forwarders.inc"
#undef XLMEDGE_FORWARD

/* The jump targets (the fallbacks until the constructor loads a build), and the exported functions:
 * `endbr64; jmp *target(%rip)`. */
#define XLMEDGE_FORWARD(kind, type, name)                                                         \
    __attribute__((visibility("hidden"), used)) void *target_##name = (void *)fallback_##name;    \
    __asm__(".text\n\t.globl " #name "\n\t.type " #name ", @function\n\t.p2align 4\n" #name ":\n\t" \
            "endbr64\n\tjmp *target_" #name "(%rip)\n\t.size " #name ", .-" #name "\n");
#include "xlmedge-forwarders.inc"
#undef XLMEDGE_FORWARD

static const struct {
    const char *name;
    void **target;
} forwards[] = {
#define XLMEDGE_FORWARD(kind, type, name) { #name, &target_##name },
#include "xlmedge-forwarders.inc"
#undef XLMEDGE_FORWARD
};

__attribute__((constructor)) static void load_build(void) {
    char msg[512];
    int level = xlmedge_x64_pick("libxlmedge", msg, sizeof msg);
    if (level == 0) {
        snprintf(load_error, sizeof load_error, "%s", msg);
        return;
    }
    /* The builds lie next to this file (symbolic links resolved: lib/libxlmedge.so.1 -> libxlmedge.so.VERSION). */
    Dl_info self;
    char dir[PATH_MAX] = ".";
    if (dladdr((void *)load_build, &self) && self.dli_fname != NULL) {
        if (realpath(self.dli_fname, dir) == NULL)
            snprintf(dir, sizeof dir, "%s", self.dli_fname);
        char *slash = strrchr(dir, '/');
        if (slash != NULL)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/libxlmedge-v%d.so", dir, level);
    void *build = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (build == NULL) {
        snprintf(load_error, sizeof load_error, "libxlmedge: cannot load the x86-64-v%d build: %s", level, dlerror());
        return;
    }
    void *found[sizeof forwards / sizeof forwards[0]];
    for (size_t i = 0; i < sizeof forwards / sizeof forwards[0]; i++) {
        found[i] = dlsym(build, forwards[i].name);
        if (found[i] == NULL) {
            snprintf(load_error, sizeof load_error, "libxlmedge: %s has no %s (it is from another version of XlmEdge)", path, forwards[i].name);
            dlclose(build);
            return;
        }
    }
    for (size_t i = 0; i < sizeof forwards / sizeof forwards[0]; i++)
        *forwards[i].target = found[i];
    load_error[0] = '\0';
}
