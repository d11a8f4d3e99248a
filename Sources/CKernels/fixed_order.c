#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

// Products for stage two (scoring) whose every output is summed in one order fixed by this file, so that a score
// never depends on the host: not on the BLAS kernel OpenBLAS picks for the CPU, not on the CPU's vector width, not
// on whether it has FMA.
//
// The order: a float32 dot of length k is 16 lanes, lane l summing the products of elements l, l + 16, ... of the
// whole 16-element blocks in index order, the k % 16 remaining products added to lanes 0, 1, ..., then the lanes
// folded by halves (l += l + 8, l += l + 4, l += l + 2, l += l + 1). float64 dots use 8 lanes the same way. A
// weighted sum of rows adds its terms one row after another. Every product and every addition is rounded on its
// own: FMA contraction is off for this file (the pragma below, whatever the build's flags), so a fused
// multiply-add cannot creep in where the compiler targets a CPU that has one.
//
// Three builds of the same source (x86-64 baseline, AVX2, AVX-512F) differ only in how many lanes one instruction
// holds and how many outputs share a pass over the inputs; each lane's operations and their order are the same, so
// all three give the same bits (ScoreTests/FixedOrderKernelTests checks it). The build is chosen once per process;
// MOEE_FIXED_ORDER_ISA=baseline|avx2 asks for a lower one (tests and cross-host checks: it makes this CPU take the
// path an older one takes). The rowwise product of stage one (gemm_rowwise.c) follows the same choice.
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF

typedef float f32x16 __attribute__((vector_size(64), aligned(4)));
typedef double f64x8 __attribute__((vector_size(64), aligned(8)));

// Macros and pointer arguments rather than vector arguments: a function taking a 64-byte vector would have another
// ABI in each build.
#define load16(p) ({ f32x16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define load8(p) ({ f64x8 v_; memcpy(&v_, (p), sizeof v_); v_; })

static inline float fold16_lanes(const void *acc, const float *x, const float *y, size_t body, size_t k) {
    float lane[16];
    memcpy(lane, acc, sizeof lane);
    for (size_t i = body; i < k; i++) lane[i - body] += x[i] * y[i];
    for (int width = 8; width > 0; width /= 2)
        for (int l = 0; l < width; l++) lane[l] += lane[l + width];
    return lane[0];
}

static inline double fold8_lanes(const void *acc, const double *x, const double *y, size_t body, size_t k) {
    double lane[8];
    memcpy(lane, acc, sizeof lane);
    for (size_t i = body; i < k; i++) lane[i - body] += x[i] * y[i];
    for (int width = 4; width > 0; width /= 2)
        for (int l = 0; l < width; l++) lane[l] += lane[l + width];
    return lane[0];
}
#define fold16(acc, x, y, body, k) ({ f32x16 a_ = (acc); fold16_lanes(&a_, (x), (y), (body), (k)); })
#define fold8(acc, x, y, body, k) ({ f64x8 a_ = (acc); fold8_lanes(&a_, (x), (y), (body), (k)); })

// c[i * ldc + j] = a_i · b_j for i < m, j < n; blocks of RB rows x CB columns share each pass over k.
#define DEFINE_DOT_ROWS_F32(NAME, ATTRIBUTES, RB, CB)                                                              \
    ATTRIBUTES static void NAME(const float *a, size_t lda, size_t m, const float *b, size_t ldb, size_t n,       \
                                size_t k, float *c, size_t ldc) {                                               \
        size_t body = k / 16 * 16;                                                                              \
        size_t i = 0;                                                                                           \
        for (; i + RB <= m; i += RB) {                                                                          \
            size_t j = 0;                                                                                       \
            for (; j + CB <= n; j += CB) {                                                                      \
                f32x16 acc[RB][CB];                                                                             \
                for (int r = 0; r < RB; r++)                                                                    \
                    for (int s = 0; s < CB; s++) acc[r][s] = (f32x16){0};                                       \
                for (size_t p = 0; p < body; p += 16) {                                                         \
                    f32x16 va[RB], vb[CB];                                                                      \
                    for (int r = 0; r < RB; r++) va[r] = load16(a + (i + r) * lda + p);                         \
                    for (int s = 0; s < CB; s++) vb[s] = load16(b + (j + s) * ldb + p);                         \
                    for (int r = 0; r < RB; r++)                                                                \
                        for (int s = 0; s < CB; s++) acc[r][s] += va[r] * vb[s];                                \
                }                                                                                               \
                for (int r = 0; r < RB; r++)                                                                    \
                    for (int s = 0; s < CB; s++)                                                                \
                        c[(i + r) * ldc + j + s] = fold16(acc[r][s], a + (i + r) * lda, b + (j + s) * ldb, body, k); \
            }                                                                                                   \
            for (; j < n; j++)                                                                                  \
                for (int r = 0; r < RB; r++) {                                                                  \
                    f32x16 acc = {0};                                                                           \
                    for (size_t p = 0; p < body; p += 16) acc += load16(a + (i + r) * lda + p) * load16(b + j * ldb + p); \
                    c[(i + r) * ldc + j] = fold16(acc, a + (i + r) * lda, b + j * ldb, body, k);                \
                }                                                                                               \
        }                                                                                                       \
        for (; i < m; i++)                                                                                      \
            for (size_t j = 0; j < n; j++) {                                                                    \
                f32x16 acc = {0};                                                                               \
                for (size_t p = 0; p < body; p += 16) acc += load16(a + i * lda + p) * load16(b + j * ldb + p); \
                c[i * ldc + j] = fold16(acc, a + i * lda, b + j * ldb, body, k);                                \
            }                                                                                                   \
    }

#define DEFINE_DOT_ROWS_F64(NAME, ATTRIBUTES, CB)                                                                  \
    ATTRIBUTES static void NAME(const double *a, size_t lda, size_t m, const double *b, size_t ldb, size_t n,     \
                                size_t k, double *c, size_t ldc) {                                              \
        size_t body = k / 8 * 8;                                                                                \
        for (size_t i = 0; i < m; i++) {                                                                        \
            const double *ai = a + i * lda;                                                                     \
            size_t j = 0;                                                                                       \
            for (; j + CB <= n; j += CB) {                                                                      \
                f64x8 acc[CB];                                                                                  \
                for (int s = 0; s < CB; s++) acc[s] = (f64x8){0};                                               \
                for (size_t p = 0; p < body; p += 8) {                                                          \
                    f64x8 va = load8(ai + p);                                                                   \
                    for (int s = 0; s < CB; s++) acc[s] += va * load8(b + (j + s) * ldb + p);                   \
                }                                                                                               \
                for (int s = 0; s < CB; s++) c[i * ldc + j + s] = fold8(acc[s], ai, b + (j + s) * ldb, body, k); \
            }                                                                                                   \
            for (; j < n; j++) {                                                                                \
                f64x8 acc = {0};                                                                                \
                for (size_t p = 0; p < body; p += 8) acc += load8(ai + p) * load8(b + j * ldb + p);             \
                c[i * ldc + j] = fold8(acc, ai, b + j * ldb, body, k);                                          \
            }                                                                                                   \
        }                                                                                                       \
    }

// out[o * ldo + j] = sum over i = 0, 1, ..., n - 1 (in that order) of g[i * ldg + o] * x[i * ldx + j], for o < outputs,
// j < d. Columns go in tiles so the tile of every output stays in L1 while the rows stream by.
#define DEFINE_WEIGHTED_ROWS(NAME, ATTRIBUTES)                                                                     \
    ATTRIBUTES static void NAME(const float *g, size_t ldg, size_t n, size_t outputs, const float *x, size_t ldx,  \
                                size_t d, float *out, size_t ldo) {                                             \
        const size_t tile = 256;                                                                                \
        for (size_t j0 = 0; j0 < d; j0 += tile) {                                                               \
            size_t width = d - j0 < tile ? d - j0 : tile, body = width / 16 * 16;                               \
            for (size_t o = 0; o < outputs; o++) memset(out + o * ldo + j0, 0, width * sizeof(float));          \
            for (size_t i = 0; i < n; i++) {                                                                    \
                const float *xi = x + i * ldx + j0;                                                             \
                for (size_t o = 0; o < outputs; o++) {                                                          \
                    float weight = g[i * ldg + o];                                                              \
                    f32x16 vw = (f32x16){0} + weight;                                                           \
                    float *target = out + o * ldo + j0;                                                         \
                    size_t j = 0;                                                                               \
                    for (; j < body; j += 16) {                                                                 \
                        f32x16 sum = load16(target + j) + vw * load16(xi + j);                                  \
                        memcpy(target + j, &sum, sizeof sum);                                                   \
                    }                                                                                           \
                    for (; j < width; j++) target[j] += weight * xi[j];                                         \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

DEFINE_DOT_ROWS_F32(dot_rows_f32_baseline, , 1, 2)
DEFINE_DOT_ROWS_F64(dot_rows_f64_baseline, , 1)
DEFINE_WEIGHTED_ROWS(weighted_rows_baseline, )

#if defined(__x86_64__) && defined(__clang__)
#define CK_FIXED_ORDER_DISPATCH 1
DEFINE_DOT_ROWS_F32(dot_rows_f32_avx2, __attribute__((target("avx2"))), 2, 2)
DEFINE_DOT_ROWS_F64(dot_rows_f64_avx2, __attribute__((target("avx2"))), 2)
DEFINE_WEIGHTED_ROWS(weighted_rows_avx2, __attribute__((target("avx2"))))
DEFINE_DOT_ROWS_F32(dot_rows_f32_avx512, __attribute__((target("avx512f"))), 2, 4)
DEFINE_DOT_ROWS_F64(dot_rows_f64_avx512, __attribute__((target("avx512f"))), 4)
DEFINE_WEIGHTED_ROWS(weighted_rows_avx512, __attribute__((target("avx512f"))))
#endif

static int isa_level = -1;  // every thread that races here stores the same value

static int best_level(void) {
#ifdef CK_FIXED_ORDER_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return CK_ISA_AVX512;
    if (__builtin_cpu_supports("avx2")) return CK_ISA_AVX2;
#endif
    return CK_ISA_BASELINE;
}

static int clamp_level(int requested) {
    int best = best_level();
    return requested < best ? requested : best;
}

int ck_fixed_order_isa(void) {
    int level = __atomic_load_n(&isa_level, __ATOMIC_RELAXED);
    if (level < 0) {
        const char *forced = getenv("MOEE_FIXED_ORDER_ISA");
        level = best_level();
        if (forced && strcmp(forced, "baseline") == 0) level = CK_ISA_BASELINE;
        else if (forced && strcmp(forced, "avx2") == 0) level = clamp_level(CK_ISA_AVX2);
        __atomic_store_n(&isa_level, level, __ATOMIC_RELAXED);
    }
    return level;
}

int ck_fixed_order_set_isa(int level) {
    int chosen = clamp_level(level < CK_ISA_BASELINE ? CK_ISA_BASELINE : level);
    __atomic_store_n(&isa_level, chosen, __ATOMIC_RELAXED);
    return chosen;
}

void ck_dot_rows_f32(const float *a, size_t lda, size_t m, const float *b, size_t ldb, size_t n, size_t k, float *c,
                     size_t ldc) {
#ifdef CK_FIXED_ORDER_DISPATCH
    switch (ck_fixed_order_isa()) {
    case CK_ISA_AVX512: dot_rows_f32_avx512(a, lda, m, b, ldb, n, k, c, ldc); return;
    case CK_ISA_AVX2: dot_rows_f32_avx2(a, lda, m, b, ldb, n, k, c, ldc); return;
    default: break;
    }
#endif
    dot_rows_f32_baseline(a, lda, m, b, ldb, n, k, c, ldc);
}

void ck_dot_rows_f64(const double *a, size_t lda, size_t m, const double *b, size_t ldb, size_t n, size_t k,
                     double *c, size_t ldc) {
#ifdef CK_FIXED_ORDER_DISPATCH
    switch (ck_fixed_order_isa()) {
    case CK_ISA_AVX512: dot_rows_f64_avx512(a, lda, m, b, ldb, n, k, c, ldc); return;
    case CK_ISA_AVX2: dot_rows_f64_avx2(a, lda, m, b, ldb, n, k, c, ldc); return;
    default: break;
    }
#endif
    dot_rows_f64_baseline(a, lda, m, b, ldb, n, k, c, ldc);
}

void ck_weighted_rows_f32(const float *g, size_t ldg, size_t n, size_t outputs, const float *x, size_t ldx, size_t d,
                          float *out, size_t ldo) {
#ifdef CK_FIXED_ORDER_DISPATCH
    switch (ck_fixed_order_isa()) {
    case CK_ISA_AVX512: weighted_rows_avx512(g, ldg, n, outputs, x, ldx, d, out, ldo); return;
    case CK_ISA_AVX2: weighted_rows_avx2(g, ldg, n, outputs, x, ldx, d, out, ldo); return;
    default: break;
    }
#endif
    weighted_rows_baseline(g, ldg, n, outputs, x, ldx, d, out, ldo);
}
