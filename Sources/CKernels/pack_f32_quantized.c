#include "CKernels.h"
#include <string.h>

// Quantized rows dequantized straight into the F32 kernel's panel layout (line i = the 16 rows' weights at k = i),
// one panel just before ck_gemm_f32_avx2 reads it: how int8 and q4 weights run on the F32 kernel on CPUs without
// AVX-512 BF16. Each weight is scale * code in float32, which is exact (ck_bf16_pack_panel_q8's comment), so the
// panel is bit for bit ck_f32_pack_panel of ck_dequantize_rows_*'s floats and the product is the F32 kernel's on
// the dequantized weights: nothing is rounded that sgemm on those floats would not round.
//
// The AVX2 path reads 8 k values of each of 8 rows (one ymm per row), transposes the 8 x 8 block in registers and
// stores 8 half-lines; the portable loops give the same bits (tested).

#if (defined(__x86_64__) || defined(__i386__)) && defined(__clang__) && __clang_major__ >= 16
#define CK_HAVE_PACK_AVX2 1
#include <immintrin.h>
#define AVX2_PACK __attribute__((target("avx2,fma")))
#else
#define CK_HAVE_PACK_AVX2 0
#endif

static float scale_q8(const uint16_t *scales, size_t groups, size_t j, size_t i) {
    union { uint32_t bits; float value; } s = { (uint32_t)scales[j * groups + i / CK_GROUP_Q8] << 16 };
    return s.value;
}

void ck_f32_pack_panel_q8(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel) {
    size_t groups = (k + CK_GROUP_Q8 - 1) / CK_GROUP_Q8, stride = groups * CK_GROUP_Q8;
    if (valid < CK_F32_PANEL) memset(panel, 0, k * CK_F32_PANEL * sizeof *panel);
    for (size_t j = 0; j < valid; j++)
        for (size_t i = 0; i < k; i++)
            panel[i * CK_F32_PANEL + j] = scale_q8(scales, groups, j, i) * (float)codes[j * stride + i];
}

void ck_f32_pack_panel_q4(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel) {
    size_t groups = (k + CK_GROUP - 1) / CK_GROUP, stride = groups * (CK_GROUP / 2 + 1);
    size_t supers = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    if (valid < CK_F32_PANEL) memset(panel, 0, k * CK_F32_PANEL * sizeof *panel);
    for (size_t j = 0; j < valid; j++) {
        const uint8_t *c = codes + j * stride;
        for (size_t i = 0; i < k; i++) {
            int q = ((i & 1) ? (c[i / 2] >> 4) : (c[i / 2] & 15)) - 8;
            panel[i * CK_F32_PANEL + j] = ck_q4_scale(c, scales + j * supers, groups, i / CK_GROUP) * (float)q;
        }
    }
}

#if CK_HAVE_PACK_AVX2

// r[t] = row t's 8 values -> r[t] = the 8 rows' values at column t.
static inline __attribute__((always_inline)) AVX2_PACK void transpose8(__m256 r[8]) {
    __m256 a[8], b[8];
    for (int t = 0; t < 8; t += 2) {
        a[t] = _mm256_unpacklo_ps(r[t], r[t + 1]);
        a[t + 1] = _mm256_unpackhi_ps(r[t], r[t + 1]);
    }
    for (int t = 0; t < 8; t += 4) {
        b[t] = _mm256_shuffle_ps(a[t], a[t + 2], 0x44);
        b[t + 1] = _mm256_shuffle_ps(a[t], a[t + 2], 0xee);
        b[t + 2] = _mm256_shuffle_ps(a[t + 1], a[t + 3], 0x44);
        b[t + 3] = _mm256_shuffle_ps(a[t + 1], a[t + 3], 0xee);
    }
    for (int t = 0; t < 4; t++) {
        r[t] = _mm256_permute2f128_ps(b[t], b[t + 4], 0x20);
        r[t + 4] = _mm256_permute2f128_ps(b[t], b[t + 4], 0x31);
    }
}

// Stores the transposed block: lines i..i+lines-1, columns 8h..8h+7 (a 32-byte-aligned half-line each).
static inline __attribute__((always_inline)) AVX2_PACK
void store_block(float *panel, size_t i, size_t lines, int h, __m256 r[8]) {
    transpose8(r);
    for (size_t t = 0; t < lines; t++) _mm256_store_ps(panel + (i + t) * CK_F32_PANEL + 8 * h, r[t]);
}

// Row j's 8 weights at k = i..i+7: scale * code in float32, `q4` a constant where it is inlined.
static inline __attribute__((always_inline)) AVX2_PACK
__m256 row_block(int q4, const void *codes, const uint16_t *scales, size_t k, size_t j, size_t i) {
    if (!q4) {
        size_t groups = (k + CK_GROUP_Q8 - 1) / CK_GROUP_Q8;
        const int8_t *c = (const int8_t *)codes + j * groups * CK_GROUP_Q8;
        __m128i eight = _mm_loadl_epi64((const __m128i *)(c + i));
        return _mm256_mul_ps(_mm256_set1_ps(scale_q8(scales, groups, j, i)), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(eight)));
    }
    size_t groups = (k + CK_GROUP - 1) / CK_GROUP, supers = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    const uint8_t *c = (const uint8_t *)codes + j * groups * (CK_GROUP / 2 + 1);
    // Byte t of the 4 holds elements 2t (low nibble) and 2t+1 (high): each byte twice, shifted by 0 and 4.
    const __m256i shifts = _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4), low = _mm256_set1_epi32(15), eight = _mm256_set1_epi32(8);
    uint32_t four;
    memcpy(&four, c + i / 2, sizeof four);
    __m128i bytes = _mm_cvtsi32_si128((int)four);
    __m256i q = _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(bytes, bytes));
    q = _mm256_sub_epi32(_mm256_and_si256(_mm256_srlv_epi32(q, shifts), low), eight);
    float scale = ck_q4_scale(c, scales + j * supers, groups, i / CK_GROUP);
    return _mm256_mul_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(q));
}

// The walk both formats share: 8 k values of each half of the panel's rows, transposed and stored as half-lines.
// Rows past `valid` are zero; a row's codes are read up to its padded length (whole groups), only k lines stored.
static inline __attribute__((always_inline)) AVX2_PACK
void pack_panel_avx2(int q4, const void *codes, const uint16_t *scales, size_t valid, size_t k, float *panel) {
    for (size_t i = 0; i < k; i += 8) {
        size_t lines = k - i < 8 ? k - i : 8;
        for (int h = 0; h < 2; h++) {
            __m256 r[8];
            for (int t = 0; t < 8; t++) {
                size_t j = 8 * (size_t)h + (size_t)t;
                r[t] = j < valid ? row_block(q4, codes, scales, k, j, i) : _mm256_setzero_ps();
            }
            store_block(panel, i, lines, h, r);
        }
    }
}

AVX2_PACK
void ck_f32_pack_panel_q8_avx2(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel) {
    pack_panel_avx2(0, codes, scales, valid, k, panel);
}

AVX2_PACK
void ck_f32_pack_panel_q4_avx2(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel) {
    pack_panel_avx2(1, codes, scales, valid, k, panel);
}

#else

void ck_f32_pack_panel_q8_avx2(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel) {
    ck_f32_pack_panel_q8(codes, scales, valid, k, panel);
}

void ck_f32_pack_panel_q4_avx2(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel) {
    ck_f32_pack_panel_q4(codes, scales, valid, k, panel);
}

#endif
