#include "CKernels.h"
#include "gemm_tiles.h"
#include <math.h>
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

// Only the functions marked AVX512_F32 use AVX-512 instructions; callers check ck_cpu_has_avx512f() first (and
// ck_cpu_has_avx2_fma() before ck_gemm_f32_avx2, below).

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
    ck_gemm_f32_scalar(x, ldx, m, k, packed, n, panelBegin, panelEnd, y, ldy);
}

#endif

// The same product on AVX2 + FMA (Haswell, Zen 1-3 and every later x86-64), on the same panels: 16 ymm
// registers hold less than the 24-zmm tile, so each panel is two ymm halves (8 columns each) and a tile's rows go
// in blocks of up to 4 (8 accumulators, 2 weight registers, 1 broadcast), each block over the whole k. The panel
// is reread once per row block from L1/L2; x's rows are read in place as in the AVX-512 kernel. Blocks of 6 rows
// (12 accumulators) measured slower on one core of Zen 4 (N = K = 2048: 83-89 against 92-103 GFLOP/s at M = 128-512).
#if CK_HAVE_F32_KERNEL
#define AVX2_F32 __attribute__((target("avx2,fma")))

// Stores `rows` rows of two ymm accumulators (16 columns) to y, only the first `valid` columns of each: columns past
// n stay untouched.
static inline __attribute__((always_inline)) AVX2_F32
void store256(__m256 acc[6][2], int rows, float *y, size_t ldy, size_t valid) {
    for (int r = 0; r < rows; r++) {
        float *out = y + r * ldy;
        if (valid >= 16) {
            _mm256_storeu_ps(out, acc[r][0]);
            _mm256_storeu_ps(out + 8, acc[r][1]);
        } else {
            float lane[16];
            _mm256_storeu_ps(lane, acc[r][0]);
            _mm256_storeu_ps(lane + 8, acc[r][1]);
            memcpy(out, lane, valid * sizeof *out);
        }
    }
}

// BLOCK(rows, ...) with the runtime `count` (1..6) of rows passed as a literal, so the block's loops unroll.
#define CK_ROW_BLOCK_CASES(BLOCK, count, ...)                                                               \
    switch (count) {                                                                                        \
    case 6: BLOCK(6, __VA_ARGS__); break;                                                                   \
    case 5: BLOCK(5, __VA_ARGS__); break;                                                                   \
    case 4: BLOCK(4, __VA_ARGS__); break;                                                                   \
    case 3: BLOCK(3, __VA_ARGS__); break;                                                                   \
    case 2: BLOCK(2, __VA_ARGS__); break;                                                                   \
    default: BLOCK(1, __VA_ARGS__); break;                                                                  \
    }

static inline __attribute__((always_inline)) AVX2_F32
void block256(int rows, const float *a, size_t lda, const float *b, size_t lines, float *y, size_t ldy, size_t valid) {
    __m256 acc[6][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t i = 0; i < lines; i++) {
        __m256 w0 = _mm256_load_ps(b + 16 * i), w1 = _mm256_load_ps(b + 16 * i + 8);
        for (int r = 0; r < rows; r++) {
            __m256 v = _mm256_broadcast_ss(a + r * lda + i);
            acc[r][0] = _mm256_fmadd_ps(v, w0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(v, w1, acc[r][1]);
        }
    }
    store256(acc, rows, y, ldy, valid);
}

#ifndef CK_F32_AVX2_ROWS
#define CK_F32_AVX2_ROWS 4
#endif
// The tile walker's (mr, nr) tile, panel by panel, rows in blocks of CK_F32_AVX2_ROWS (mr is a constant here, so
// the block sizes are too once inlined).
static inline __attribute__((always_inline)) AVX2_F32
void micro256(int mr, int nr, const float *a, size_t lda, const float *b, size_t panelStride, size_t lines,
              float *y, size_t ldy, size_t valid) {
    for (int c = 0; c < nr; c++) {
        size_t columns = c == nr - 1 ? valid : 16;
        for (int g = 0; g < mr; g += CK_F32_AVX2_ROWS) {
            const float *rows = a + g * lda;
            float *out = y + g * ldy + 16 * c;
            CK_ROW_BLOCK_CASES(block256, mr - g < CK_F32_AVX2_ROWS ? mr - g : CK_F32_AVX2_ROWS,
                               rows, lda, b + c * panelStride, lines, out, ldy, columns)
        }
    }
}

AVX2_F32
void ck_gemm_f32_avx2(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                      size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    size_t panelStride = k * CK_F32_PANEL;
    CK_FOR_EACH_TILE(m, n, panelBegin, panelEnd, micro256,
                     x + r * ldx, ldx, packed + p * panelStride, panelStride, k, y + r * ldy + p * CK_F32_PANEL, ldy, valid)
}

#else

void ck_gemm_f32_avx2(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                      size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    ck_gemm_f32_scalar(x, ldx, m, k, packed, n, panelBegin, panelEnd, y, ldy);
}

#endif

// The portable loop (other architectures, and the tests' third opinion): one fused multiply-add per k in order,
// as both SIMD kernels do per lane, so all three give the same bits (fmaf is exact-then-rounded everywhere).
void ck_gemm_f32_scalar(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                        size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    size_t last = n < CK_F32_PANEL * panelEnd ? n : CK_F32_PANEL * panelEnd;
    for (size_t r = 0; r < m; r++)
        for (size_t c = CK_F32_PANEL * panelBegin; c < last; c++) {
            const float *w = packed + (c / CK_F32_PANEL) * k * CK_F32_PANEL + c % CK_F32_PANEL;
            float sum = 0;
            for (size_t i = 0; i < k; i++) sum = fmaf(x[r * ldx + i], w[i * CK_F32_PANEL], sum);
            y[r * ldy + c] = sum;
        }
}

// BF16 weights, float32 activations (gemm_f32.c's AVX2 path for BF16 checkpoints on CPUs without AVX-512 BF16):
// the panels are ck_bf16_pack_panel's (one 64-byte line per k pair, lane j = w[j][2p] | w[j][2p+1] << 16), each
// BF16 weight widened in registers (a BF16 is the high half of its float32: shift the even one up, mask the odd
// one), x read in place in float32. Each output is the same FMA chain over k = 0, 1, ... as ck_gemm_f32 on the
// widened weights, so it gives the same bits at half the weight bytes.
#if CK_HAVE_F32_KERNEL

static inline __attribute__((always_inline)) AVX2_F32
void block256_bf16(int rows, const float *a, size_t lda, const uint16_t *b, size_t k, float *y, size_t ldy, size_t valid) {
    __m256 acc[6][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
    size_t pairs = k / 2;
    for (size_t p = 0; p < pairs; p++) {
        __m256i l0 = _mm256_load_si256((const __m256i *)(b + 32 * p)), l1 = _mm256_load_si256((const __m256i *)(b + 32 * p + 16));
        __m256 e0 = _mm256_castsi256_ps(_mm256_slli_epi32(l0, 16)), e1 = _mm256_castsi256_ps(_mm256_slli_epi32(l1, 16));
        __m256 o0 = _mm256_castsi256_ps(_mm256_and_si256(l0, high)), o1 = _mm256_castsi256_ps(_mm256_and_si256(l1, high));
        for (int r = 0; r < rows; r++) {
            __m256 v = _mm256_broadcast_ss(a + r * lda + 2 * p);
            acc[r][0] = _mm256_fmadd_ps(v, e0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(v, e1, acc[r][1]);
        }
        for (int r = 0; r < rows; r++) {
            __m256 v = _mm256_broadcast_ss(a + r * lda + 2 * p + 1);
            acc[r][0] = _mm256_fmadd_ps(v, o0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(v, o1, acc[r][1]);
        }
    }
    if (k & 1) {  // the last k alone: its pair's second weight is padding, and x has no k-th value
        __m256i l0 = _mm256_load_si256((const __m256i *)(b + 32 * pairs)), l1 = _mm256_load_si256((const __m256i *)(b + 32 * pairs + 16));
        __m256 e0 = _mm256_castsi256_ps(_mm256_slli_epi32(l0, 16)), e1 = _mm256_castsi256_ps(_mm256_slli_epi32(l1, 16));
        for (int r = 0; r < rows; r++) {
            __m256 v = _mm256_broadcast_ss(a + r * lda + 2 * pairs);
            acc[r][0] = _mm256_fmadd_ps(v, e0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(v, e1, acc[r][1]);
        }
    }
    store256(acc, rows, y, ldy, valid);
}

// Rows in blocks of 4 here, not 6: the even and odd weights of a line take four registers, and 6 rows spilled
// accumulators to the stack at every k pair (one core, N = K = 2048, M = 8-512: ~50 GFLOP/s with 6 rows, ~95 with
// 5, ~100 with 4 on Zen 4).
#ifndef CK_BF16W_ROWS
#define CK_BF16W_ROWS 4
#endif
static inline __attribute__((always_inline)) AVX2_F32
void micro256_bf16(int mr, int nr, const float *a, size_t lda, const uint16_t *b, size_t panelStride, size_t k,
                   float *y, size_t ldy, size_t valid) {
    for (int c = 0; c < nr; c++) {
        size_t columns = c == nr - 1 ? valid : 16;
        for (int g = 0; g < mr; g += CK_BF16W_ROWS) {
            const float *rows = a + g * lda;
            float *out = y + g * ldy + 16 * c;
            const uint16_t *panel = b + c * panelStride;
            CK_ROW_BLOCK_CASES(block256_bf16, mr - g < CK_BF16W_ROWS ? mr - g : CK_BF16W_ROWS,
                               rows, lda, panel, k, out, ldy, columns)
        }
    }
}

AVX2_F32
void ck_gemm_f32_bf16w_avx2(const float *x, size_t ldx, size_t m, size_t k, const uint16_t *packed, size_t n,
                            size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    size_t panelStride = (k + 1) / 2 * 2 * CK_BF16_PANEL;
    CK_FOR_EACH_TILE(m, n, panelBegin, panelEnd, micro256_bf16,
                     x + r * ldx, ldx, packed + p * panelStride, panelStride, k, y + r * ldy + p * CK_F32_PANEL, ldy, valid)
}

#else

void ck_gemm_f32_bf16w_avx2(const float *x, size_t ldx, size_t m, size_t k, const uint16_t *packed, size_t n,
                            size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    ck_gemm_f32_bf16w_scalar(x, ldx, m, k, packed, n, panelBegin, panelEnd, y, ldy);
}

#endif

void ck_gemm_f32_bf16w_scalar(const float *x, size_t ldx, size_t m, size_t k, const uint16_t *packed, size_t n,
                              size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    size_t last = n < CK_F32_PANEL * panelEnd ? n : CK_F32_PANEL * panelEnd;
    size_t panelStride = (k + 1) / 2 * 2 * CK_BF16_PANEL;
    for (size_t r = 0; r < m; r++)
        for (size_t c = CK_F32_PANEL * panelBegin; c < last; c++) {
            const uint16_t *w = packed + (c / CK_F32_PANEL) * panelStride + 2 * (c % CK_F32_PANEL);
            float sum = 0;
            for (size_t i = 0; i < k; i++) {
                uint32_t bits = (uint32_t)w[(i / 2) * 2 * CK_BF16_PANEL + (i & 1)] << 16;
                float weight;
                memcpy(&weight, &bits, sizeof weight);
                sum = fmaf(x[r * ldx + i], weight, sum);
            }
            y[r * ldy + c] = sum;
        }
}
