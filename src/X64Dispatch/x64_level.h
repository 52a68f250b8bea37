/*
 * x64_level.h - which of XlmEdge's two x64 builds this machine runs: x86-64-v4 (AVX-512, the 512-bit
 * kernels) or x86-64-v3 (AVX2 + FMA, the 256-bit ones). Native AOT fixes the instruction sets at compile
 * time, so each published x64 artefact is built twice and a small dispatcher picks one at start: the
 * console's launcher (launcher.c) and the C library's shim (shim.c). Shared by both; no allocation.
 *
 * The levels are the x86-64 psABI's (what ILC's --instruction-set:x86-64-v3/-v4 compile for): a feature
 * counts only when the CPU has it (CPUID) and, for the vector state, when the OS saves it (XGETBV: a
 * kernel or hypervisor may leave the AVX-512 registers off on a CPU that has them).
 *
 * XLMEDGE_X64_LEVEL=v3 in the environment forces the x86-64-v3 build (tests of both builds on one
 * AVX-512 machine); =v4 insists on the x86-64-v4 one (an error where the CPU cannot run it).
 */
#ifndef XLMEDGE_X64_LEVEL_H
#define XLMEDGE_X64_LEVEL_H

#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct xlmedge_x64_feature {
    const char *name;
    int level;           /* the x86-64 level that needs it: 3 (v2's features included) or 4 */
    unsigned leaf;       /* CPUID leaf 1, 7 (subleaf 0) or 0x80000001; 0 for an XCR0 state mask */
    char reg;            /* 'a' .. 'd': the CPUID register (eax .. edx); 'x': XCR0 */
    unsigned bit;        /* bit in that register (for 'x': the mask of state bits) */
} xlmedge_x64_feature;

static const xlmedge_x64_feature xlmedge_x64_features[] = {
    /* x86-64-v2 */
    { "SSE3", 3, 1, 'c', 0 },          { "SSSE3", 3, 1, 'c', 9 },         { "SSE4.1", 3, 1, 'c', 19 },
    { "SSE4.2", 3, 1, 'c', 20 },       { "POPCNT", 3, 1, 'c', 23 },       { "CMPXCHG16B", 3, 1, 'c', 13 },
    { "LAHF/SAHF", 3, 0x80000001u, 'c', 0 },
    /* x86-64-v3 */
    { "AVX", 3, 1, 'c', 28 },          { "AVX2", 3, 7, 'b', 5 },          { "FMA", 3, 1, 'c', 12 },
    { "BMI1", 3, 7, 'b', 3 },          { "BMI2", 3, 7, 'b', 8 },          { "F16C", 3, 1, 'c', 29 },
    { "LZCNT", 3, 0x80000001u, 'c', 5 }, { "MOVBE", 3, 1, 'c', 22 },      { "OSXSAVE", 3, 1, 'c', 27 },
    { "OS support for the AVX registers (XCR0)", 3, 0, 'x', 0x6 },
    /* x86-64-v4 */
    { "AVX512F", 4, 7, 'b', 16 },      { "AVX512BW", 4, 7, 'b', 30 },     { "AVX512CD", 4, 7, 'b', 28 },
    { "AVX512DQ", 4, 7, 'b', 17 },     { "AVX512VL", 4, 7, 'b', 31 },
    { "OS support for the AVX-512 registers (XCR0)", 4, 0, 'x', 0xe6 },
};

/* The CPUID registers the table reads, each leaf asked once (in a virtual machine every CPUID traps to
 * the hypervisor: 8-10 us each measured on the AMD EPYC VM this was written on, and the launcher runs
 * before every console start), and XCR0 (0 when the OS has not enabled XSAVE, which XGETBV needs). */
typedef struct xlmedge_x64_cpu {
    unsigned leaf1[4], leaf7[4], ext1[4];
    uint64_t xcr0;
} xlmedge_x64_cpu;

static void xlmedge_x64_read(xlmedge_x64_cpu *cpu) {
    memset(cpu, 0, sizeof *cpu);
    unsigned max = __get_cpuid_max(0, NULL), max_ext = __get_cpuid_max(0x80000000u, NULL);
    if (max >= 1)
        __cpuid(1, cpu->leaf1[0], cpu->leaf1[1], cpu->leaf1[2], cpu->leaf1[3]);
    if (max >= 7)
        __cpuid_count(7, 0, cpu->leaf7[0], cpu->leaf7[1], cpu->leaf7[2], cpu->leaf7[3]);
    if (max_ext >= 0x80000001u)
        __cpuid(0x80000001u, cpu->ext1[0], cpu->ext1[1], cpu->ext1[2], cpu->ext1[3]);
    if (cpu->leaf1[2] & (1u << 27)) { /* OSXSAVE */
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        cpu->xcr0 = ((uint64_t)hi << 32) | lo;
    }
}

static int xlmedge_x64_has(const xlmedge_x64_cpu *cpu, const xlmedge_x64_feature *f) {
    if (f->reg == 'x')
        return (cpu->xcr0 & f->bit) == f->bit;
    const unsigned *regs = f->leaf == 1 ? cpu->leaf1 : f->leaf == 7 ? cpu->leaf7 : cpu->ext1;
    return (regs[f->reg - 'a'] >> f->bit) & 1u;
}

/* The highest level this machine runs (4, 3, or 0 below x86-64-v3); *missing3 / *missing4 get the
 * first feature that keeps it from v3 / v4 (NULL when none). */
static int xlmedge_x64_detect(const char **missing3, const char **missing4) {
    xlmedge_x64_cpu cpu;
    xlmedge_x64_read(&cpu);
    *missing3 = NULL;
    *missing4 = NULL;
    for (size_t i = 0; i < sizeof xlmedge_x64_features / sizeof xlmedge_x64_features[0]; i++) {
        const xlmedge_x64_feature *f = &xlmedge_x64_features[i];
        const char **missing = f->level == 3 ? missing3 : missing4;
        if (*missing == NULL && !xlmedge_x64_has(&cpu, f))
            *missing = f->name;
    }
    return *missing3 ? 0 : *missing4 ? 3 : 4;
}

/* The build to run, 3 or 4, after XLMEDGE_X64_LEVEL; 0 with a one-line message in msg (which starts
 * with what, e.g. "xlmedge") when there is none. */
static int xlmedge_x64_pick(const char *what, char *msg, size_t size) {
    const char *missing3, *missing4;
    int level = xlmedge_x64_detect(&missing3, &missing4);
    const char *forced = getenv("XLMEDGE_X64_LEVEL");
    if (level == 0) {
        snprintf(msg, size, "%s needs an x86-64-v3 CPU (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE; Intel Haswell, AMD Excavator "
                 "or later), and this one lacks %s", what, missing3);
        return 0;
    }
    if (forced == NULL || forced[0] == '\0')
        return level;
    if (strcmp(forced, "v3") == 0)
        return 3;
    if (strcmp(forced, "v4") == 0) {
        if (level == 4)
            return 4;
        snprintf(msg, size, "%s: XLMEDGE_X64_LEVEL=v4, but this CPU lacks %s (x86-64-v4)", what, missing4);
        return 0;
    }
    snprintf(msg, size, "%s: XLMEDGE_X64_LEVEL is '%.20s': set v3 or v4, or unset it for the widest build this CPU runs",
             what, forced);
    return 0;
}

#endif
