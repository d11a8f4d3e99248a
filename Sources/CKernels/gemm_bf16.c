#include "CKernels.h"
#include "gemm_tiles.h"
#include <string.h>

// y (m, n) = x (m, k) · Wᵀ in BF16 with float32 accumulation, on AVX-512 BF16 (`vdpbf16ps`).
//
// W is packed once (ck_bf16_pack_panel) into panels of 16 output columns: for each pair of k indices, one
// 64-byte line holds the 16 columns' two weights, (w[j][2p], w[j][2p+1]) for j = 0..15, so one zmm load feeds one
// vdpbf16ps: 16 columns x 2 k. x is rounded to BF16 once per call (ck_bf16_round_rows) into rows of k-pairs, so
// one 32-bit broadcast of a pair is the other operand. The microkernel keeps MR rows x NR panels (8 x 3 = 24 zmm)
// of accumulators over the whole k, then stores them (masked in the last partial panel).
//
// Only the functions marked AVX512_BF16 use AVX-512 instructions; callers check ck_cpu_has_avx512bf16() first.
// The rest of the package compiles without special flags.

#if (defined(__x86_64__) || defined(__i386__)) && defined(__clang__) && __clang_major__ >= 16
#define CK_HAVE_BF16_KERNEL 1
#include <immintrin.h>
#define AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx512dq")))
#else
#define CK_HAVE_BF16_KERNEL 0
#endif

// Round to nearest even, NaN kept a quiet NaN: the same rule as ck_f32_to_bf16 and vcvtne2ps2bf16.
static inline uint16_t round_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

void ck_bf16_pack_panel(const float *rows, size_t valid, size_t k, uint16_t *panel) {
    size_t pairs = (k + 1) / 2;
    for (size_t p = 0; p < pairs; p++) {
        uint16_t *line = panel + p * 2 * CK_BF16_PANEL;
        for (size_t j = 0; j < CK_BF16_PANEL; j++) {
            size_t k0 = 2 * p, k1 = 2 * p + 1;
            line[2 * j] = j < valid ? round_bf16(rows[j * k + k0]) : 0;
            line[2 * j + 1] = j < valid && k1 < k ? round_bf16(rows[j * k + k1]) : 0;
        }
    }
}

void ck_bf16_pack_panel_bf16(const uint16_t *rows, size_t valid, size_t k, uint16_t *panel) {
    const unsigned char *bytes = (const unsigned char *)rows;  // any alignment, as ck_bf16_to_f32
    size_t pairs = (k + 1) / 2;
    memset(panel, 0, pairs * 2 * CK_BF16_PANEL * sizeof *panel);
    for (size_t j = 0; j < valid; j++) {
        for (size_t i = 0; i < k; i++) {
            uint16_t value;
            memcpy(&value, bytes + 2 * (j * k + i), sizeof value);
            panel[(i / 2) * 2 * CK_BF16_PANEL + 2 * j + (i & 1)] = value;
        }
    }
}

#if CK_HAVE_BF16_KERNEL

AVX512_BF16
void ck_bf16_round_rows(const float *x, size_t ldx, size_t m, size_t k, uint16_t *dst) {
    size_t width = 2 * ((k + 1) / 2);
    for (size_t r = 0; r < m; r++) {
        const float *src = x + r * ldx;
        uint16_t *out = dst + r * width;
        size_t i = 0;
        for (; i + 32 <= k; i += 32) {
            __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
            _mm512_storeu_si512((void *)(out + i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
        if (i < k) {
            size_t rest = k - i;
            __mmask16 mlo = rest >= 16 ? 0xffff : (__mmask16)((1u << rest) - 1);
            __mmask16 mhi = rest <= 16 ? 0 : (__mmask16)((1u << (rest - 16)) - 1);
            __m512 lo = _mm512_maskz_loadu_ps(mlo, src + i), hi = _mm512_maskz_loadu_ps(mhi, src + i + 16);
            size_t store = width - i;  // rest, plus the zero that pads an odd k
            __mmask32 ms = store >= 32 ? 0xffffffffu : (__mmask32)((1u << store) - 1);
            _mm512_mask_storeu_epi16(out + i, ms, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

// MR rows x NR panels over all k pairs; `valid` = columns of the last panel that exist (1..16).
// Inlined with constant mr/nr at each call site of CK_FOR_EACH_TILE, so the loops unroll and acc stays in registers.
static inline __attribute__((always_inline)) AVX512_BF16
void micro(int mr, int nr, const uint32_t *a, size_t lda, const uint16_t *b, size_t panelStride, size_t pairs,
           float *y, size_t ldy, size_t valid) {
    __m512 acc[8][3];
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < nr; c++) acc[r][c] = _mm512_setzero_ps();
    const uint16_t *b0 = b, *b1 = b + panelStride, *b2 = b + 2 * panelStride;
    for (size_t p = 0; p < pairs; p++) {
        __m512bh w0 = (__m512bh)_mm512_load_si512((const void *)(b0 + 32 * p));
        __m512bh w1 = nr > 1 ? (__m512bh)_mm512_load_si512((const void *)(b1 + 32 * p)) : w0;
        __m512bh w2 = nr > 2 ? (__m512bh)_mm512_load_si512((const void *)(b2 + 32 * p)) : w0;
        for (int r = 0; r < mr; r++) {
            __m512bh v = (__m512bh)_mm512_set1_epi32((int)a[r * lda + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], v, w0);
            if (nr > 1) acc[r][1] = _mm512_dpbf16_ps(acc[r][1], v, w1);
            if (nr > 2) acc[r][2] = _mm512_dpbf16_ps(acc[r][2], v, w2);
        }
    }
    CK_STORE_TILE(acc, mr, nr, y, ldy, valid);
}

AVX512_BF16
void ck_gemm_bf16(const uint16_t *x, size_t m, size_t k, const uint16_t *packed, size_t n,
                  size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    size_t pairs = (k + 1) / 2, panelStride = pairs * 2 * CK_BF16_PANEL;
    const uint32_t *a = (const uint32_t *)x;
    CK_FOR_EACH_TILE(m, n, panelBegin, panelEnd, micro,
                     a + r * pairs, pairs, packed + p * panelStride, panelStride, pairs, y + r * ldy + p * CK_BF16_PANEL, ldy, valid)
}


// One panel of quantized rows (codes and scales of the panel's first row; `valid` rows of k weights, laid out as
// quantize.c writes them) dequantized straight into the packed layout: each weight is scale * code in float32 (exact:
// a scale of at most 15 significant bits times a code of at most 8), rounded to BF16 as ck_bf16_pack_panel rounds
// it, so the panel is bit for bit the packing of ck_dequantize_rows_*'s floats. 32 k values (16 pairs) of a row at a time: one group
// slice, rounded in integer arithmetic (the same rule as round_bf16, denormals kept), scattered to the 16 lines.
static inline AVX512_BF16 __m512i round_pairs(__m512 even, __m512 odd) {
    // Round to nearest even on the bits (finite values: scales and codes are finite), then even k in the low half.
    const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
    __m512i e = _mm512_castps_si512(even), o = _mm512_castps_si512(odd);
    e = _mm512_add_epi32(e, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(e, 16), one)));
    o = _mm512_add_epi32(o, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(o, 16), one)));
    return _mm512_or_si512(_mm512_srli_epi32(e, 16), _mm512_and_si512(o, _mm512_set1_epi32((int)0xffff0000u)));
}

// Stores 16 pairs of row j starting at pair p0 (only the first `count` pairs exist) into their lines.
static inline AVX512_BF16 void scatter_pairs(uint16_t *panel, size_t j, size_t p0, size_t count, __m512i pairs) {
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m512i index = _mm512_slli_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32((int)p0)), 4);  // line * 16 dwords
    __mmask16 mask = count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1);
    _mm512_mask_i32scatter_epi32((void *)((uint32_t *)panel + j), mask, index, pairs, 4);
}

// The k values from `i` that exist, as a mask over the 16 pairs' even and odd elements.
static inline void tail_masks(size_t i, size_t k, __mmask16 *even, __mmask16 *odd) {
    size_t rest = k - i;  // >= 1
    size_t ne = (rest + 1) / 2, no = rest / 2;
    *even = ne >= 16 ? 0xffff : (__mmask16)((1u << ne) - 1);
    *odd = no >= 16 ? 0xffff : (__mmask16)((1u << no) - 1);
}

AVX512_BF16
void ck_bf16_pack_panel_q8(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, uint16_t *panel) {
    size_t pairs = (k + 1) / 2, groups = (k + CK_GROUP_Q8 - 1) / CK_GROUP_Q8, stride = groups * CK_GROUP_Q8;
    if (valid < CK_BF16_PANEL) memset(panel, 0, pairs * 2 * CK_BF16_PANEL * sizeof *panel);
    for (size_t j = 0; j < valid; j++) {
        const int8_t *c = codes + j * stride;
        for (size_t i = 0; i < k; i += 32) {
            __m512 scale = _mm512_castsi512_ps(_mm512_set1_epi32((int)((uint32_t)scales[j * groups + i / CK_GROUP_Q8] << 16)));
            __m512i all = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(c + i)));  // 32 codes (padded row)
            // even/odd codes: the low and high 16 bits of each dword of `all`, sign-extended.
            __m512i ev = _mm512_srai_epi32(_mm512_slli_epi32(all, 16), 16), od = _mm512_srai_epi32(all, 16);
            __m512 fe = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(ev)), fo = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(od));
            if (i + 32 > k) {
                __mmask16 me, mo;
                tail_masks(i, k, &me, &mo);
                fe = _mm512_maskz_mov_ps(me, fe);
                fo = _mm512_maskz_mov_ps(mo, fo);
            }
            scatter_pairs(panel, j, i / 2, pairs - i / 2, round_pairs(fe, fo));
        }
    }
}

AVX512_BF16
void ck_bf16_pack_panel_q4(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, uint16_t *panel) {
    size_t pairs = (k + 1) / 2, groups = (k + CK_GROUP - 1) / CK_GROUP, stride = groups * (CK_GROUP / 2 + 1);
    size_t supers = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    if (valid < CK_BF16_PANEL) memset(panel, 0, pairs * 2 * CK_BF16_PANEL * sizeof *panel);
    const __m512i low = _mm512_set1_epi32(15), eight = _mm512_set1_epi32(8);
    for (size_t j = 0; j < valid; j++) {
        const uint8_t *c = codes + j * stride;
        for (size_t i = 0; i < k; i += 32) {  // one group: 16 bytes, element 2t in byte t's low nibble, 2t+1 high
            __m512 scale = _mm512_set1_ps(ck_q4_scale(c, scales + j * supers, groups, i / CK_GROUP));
            __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(c + i / 2)));
            __m512i ev = _mm512_sub_epi32(_mm512_and_si512(bytes, low), eight);
            __m512i od = _mm512_sub_epi32(_mm512_srli_epi32(bytes, 4), eight);
            __m512 fe = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(ev)), fo = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(od));
            if (i + 32 > k) {
                __mmask16 me, mo;
                tail_masks(i, k, &me, &mo);
                fe = _mm512_maskz_mov_ps(me, fe);
                fo = _mm512_maskz_mov_ps(mo, fo);
            }
            scatter_pairs(panel, j, i / 2, pairs - i / 2, round_pairs(fe, fo));
        }
    }
}

#else

void ck_bf16_round_rows(const float *x, size_t ldx, size_t m, size_t k, uint16_t *dst) {
    size_t width = 2 * ((k + 1) / 2);
    for (size_t r = 0; r < m; r++) {
        for (size_t i = 0; i < k; i++) dst[r * width + i] = round_bf16(x[r * ldx + i]);
        if (width > k) dst[r * width + k] = 0;
    }
}

void ck_gemm_bf16(const uint16_t *x, size_t m, size_t k, const uint16_t *packed, size_t n,
                  size_t panelBegin, size_t panelEnd, float *y, size_t ldy) {
    (void)x; (void)m; (void)k; (void)packed; (void)n; (void)panelBegin; (void)panelEnd; (void)y; (void)ldy;
}

static float bf16_value(uint16_t x) {
    uint32_t bits = (uint32_t)x << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void ck_bf16_pack_panel_q8(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, uint16_t *panel) {
    size_t groups = (k + CK_GROUP_Q8 - 1) / CK_GROUP_Q8, stride = groups * CK_GROUP_Q8;
    memset(panel, 0, (k + 1) / 2 * 2 * CK_BF16_PANEL * sizeof *panel);
    for (size_t j = 0; j < valid; j++)
        for (size_t i = 0; i < k; i++)
            panel[(i / 2) * 2 * CK_BF16_PANEL + 2 * j + (i & 1)] =
                round_bf16(bf16_value(scales[j * groups + i / CK_GROUP_Q8]) * (float)codes[j * stride + i]);
}

void ck_bf16_pack_panel_q4(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, uint16_t *panel) {
    size_t groups = (k + CK_GROUP - 1) / CK_GROUP, stride = groups * (CK_GROUP / 2 + 1);
    size_t supers = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    memset(panel, 0, (k + 1) / 2 * 2 * CK_BF16_PANEL * sizeof *panel);
    for (size_t j = 0; j < valid; j++)
        for (size_t i = 0; i < k; i++) {
            uint8_t byte = codes[j * stride + i / 2];
            int q = ((i & 1) ? (byte >> 4) : (byte & 15)) - 8;
            float scale = ck_q4_scale(codes + j * stride, scales + j * supers, groups, i / CK_GROUP);
            panel[(i / 2) * 2 * CK_BF16_PANEL + 2 * j + (i & 1)] = round_bf16(scale * (float)q);
        }
}

#endif
