#include "CKernels.h"
#include "gemm_tiles.h"
#include <string.h>

// y (m, n) = x (m, k) · Wᵀ in float32 on AVX-512F: the float32 sibling of gemm_bf16.c, computing what sgemm
// computes (only the summation order differs).
//
// W is packed once (ck_f32_pack_panel) into panels of 16 output columns: line i of a panel holds w[j][i] for
// j = 0..15 (64 bytes), so one zmm load feeds one vfmadd231ps: 16 columns x 1 k. x is read in place: one broadcast
// of x[r][i] is the other operand. The microkernel keeps MR rows x NR panels (8 x 3 = 24 zmm) of accumulators.
//
// The microkernel runs over the whole k, as in gemm_bf16.c. Blocking k (256 or 512 lines per pass, so a run's
// slice stays in L1 while every row of x passes over it, accumulating into y) was measured and did not help: with
// N = K = 2048 one core reaches ~210-225 GFLOP/s at M = 8..128 either way (close to 2 FMAs x 16 lanes per cycle),
// and M = 512 varied between 155 and 205 GFLOP/s with or without it (docs/performance.md "F32 kernel").

// Only the functions marked AVX512_F32 use AVX-512 instructions; callers check ck_cpu_has_avx512f() first.

#if (defined(__x86_64__) || defined(__i386__)) && defined(__clang__) && __clang_major__ >= 16
#define CK_HAVE_F32_KERNEL 1
#include <immintrin.h>
#define AVX512_F32 __attribute__((target("avx512f")))
#else
#define CK_HAVE_F32_KERNEL 0
#endif

void ck_f32_pack_panel(const float *rows, size_t valid, size_t k, float *panel) {
    if (valid < CK_F32_PANEL) memset(panel, 0, k * CK_F32_PANEL * sizeof *panel);
    // Row by row (sequential reads of the mapped checkpoint), each value to its line.
    for (size_t j = 0; j < valid; j++)
        for (size_t i = 0; i < k; i++) panel[i * CK_F32_PANEL + j] = rows[j * k + i];
}

#if CK_HAVE_F32_KERNEL

// MR rows x NR panels over all k lines; `valid` = columns of the last panel that exist (1..16). Inlined with
// constant mr/nr at each call site of CK_FOR_EACH_TILE, so the loops unroll and acc stays in registers.
static inline __attribute__((always_inline)) AVX512_F32
void micro(int mr, int nr, const float *a, size_t lda, const float *b, size_t panelStride, size_t lines,
           float *y, size_t ldy, size_t valid) {
    __m512 acc[8][3];
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < nr; c++) acc[r][c] = _mm512_setzero_ps();
    const float *b0 = b, *b1 = b + panelStride, *b2 = b + 2 * panelStride;
    for (size_t i = 0; i < lines; i++) {
        __m512 w0 = _mm512_load_ps(b0 + 16 * i);
        __m512 w1 = nr > 1 ? _mm512_load_ps(b1 + 16 * i) : w0;
        __m512 w2 = nr > 2 ? _mm512_load_ps(b2 + 16 * i) : w0;
        for (int r = 0; r < mr; r++) {
            __m512 v = _mm512_set1_ps(a[r * lda + i]);
            acc[r][0] = _mm512_fmadd_ps(v, w0, acc[r][0]);
            if (nr > 1) acc[r][1] = _mm512_fmadd_ps(v, w1, acc[r][1]);
            if (nr > 2) acc[r][2] = _mm512_fmadd_ps(v, w2, acc[r][2]);
        }
    }
    CK_STORE_TILE(acc, mr, nr, y, ldy, valid);
}

AVX512_F32
void ck_gemm_f32(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                 size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    size_t panelStride = k * CK_F32_PANEL;
    CK_FOR_EACH_TILE(m, n, panelBegin, panelEnd, micro,
                     x + r * ldx, ldx, packed + p * panelStride, panelStride, k, y + r * ldy + p * CK_F32_PANEL, ldy, valid)
}

#else

void ck_gemm_f32(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                 size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    size_t last = n < CK_F32_PANEL * panelEnd ? n : CK_F32_PANEL * panelEnd;
    for (size_t r = 0; r < m; r++)
        for (size_t c = CK_F32_PANEL * panelBegin; c < last; c++) {
            const float *w = packed + (c / CK_F32_PANEL) * k * CK_F32_PANEL + c % CK_F32_PANEL;
            float sum = 0;
            for (size_t i = 0; i < k; i++) sum += x[r * ldx + i] * w[i * CK_F32_PANEL];
            y[r * ldy + c] = sum;
        }
}

#endif
