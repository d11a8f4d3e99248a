#include "CKernels.h"
#include <math.h>
#include <string.h>

// q4 weights x int8 activations (llama.cpp's q4_K x q8_K idea, on this project's q4 layout): on AVX2 hosts the F32
// kernel is bound by its FMAs, and dequantizing q4 panels to float32 cannot beat it; multiplying the 4-bit codes by
// int8 activations with vpmaddubsw does 32 multiply-adds in two instructions.
//
// Activations (ck_quantize_rows_act8): each row in blocks of 256 values (CK_Q4_SUPER groups of 32, the weights'
// super-blocks), one float32 scale per block = max|x| / 127, codes round-half-even(x / scale) in [-127, 127]; within
// each group of 32 the codes are stored even elements first, then odd ones, which is the order the weights' nibbles
// come out of a byte (low nibble = element 2i, high = 2i + 1).
//
// One output = sum over super-blocks b of d_b * s_x,b * (sum over its groups g of c_g * sum_i (nib_i - 8) x_i)
// with d_b the weights' BF16 super-scale, c_g the group's int8 scale code: every inner sum is an exact integer (at
// most 8 * 8 * 127 * 127 * 4 per lane and block, below 2^24), so the only roundings are the scale products and a
// fixed float order: eight lanes (lane j holds bytes 4j..4j+3 of each group's 32, as vpmaddwd leaves them)
// accumulated by fmaf over the blocks, added ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)). The portable loop follows
// the same steps, so both give the same bits (tested), on any batch.

#define CK_ACT_BLOCK (CK_GROUP * CK_Q4_SUPER)

static inline float round_even(float x) { return (x + 12582912.0f) - 12582912.0f; }

void ck_quantize_rows_act8(const float *x, size_t ldx, size_t m, size_t k, int8_t *codes, float *scales) {
    size_t groups = (k + CK_GROUP - 1) / CK_GROUP, blocks = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    for (size_t r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        int8_t *c = codes + r * groups * CK_GROUP;
        for (size_t b = 0; b < blocks; b++) {
            size_t start = b * CK_ACT_BLOCK, end = start + CK_ACT_BLOCK < k ? start + CK_ACT_BLOCK : k;
            float largest = 0;
            for (size_t i = start; i < end; i++) largest = fmaxf(largest, fabsf(row[i]));
            float scale = largest / 127.0f, inverse = largest > 0 ? 127.0f / largest : 0;
            scales[r * blocks + b] = scale;
            size_t lastGroup = (b + 1) * CK_Q4_SUPER < groups ? (b + 1) * CK_Q4_SUPER : groups;
            for (size_t g = b * CK_Q4_SUPER; g < lastGroup; g++) {
                for (size_t e = 0; e < CK_GROUP; e++) {
                    size_t i = g * CK_GROUP + e;
                    float q = i < k ? round_even(row[i] * inverse) : 0;
                    q = q > 127 ? 127 : (q < -127 ? -127 : q);
                    // even elements to slots 0..15, odd ones to 16..31
                    c[g * CK_GROUP + (e % 2) * 16 + e / 2] = (int8_t)q;
                }
            }
        }
    }
}

// The fixed lane order of the final sum (also the AVX2 path's horizontal add).
static inline float lane_sum(const float l[8]) {
    return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

static inline float bf16_value(uint16_t bits) {
    union { uint32_t b; float f; } u = { (uint32_t)bits << 16 };
    return u.f;
}

void ck_gemm_q4_act8_scalar(const int8_t *xq, const float *xs, size_t m, size_t k,
                            const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                            float *y, size_t ldy) {
    size_t groups = (k + CK_GROUP - 1) / CK_GROUP, blocks = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    size_t codeBytes = groups * (CK_GROUP / 2 + 1);
    for (size_t t = 0; t < m; t++) {
        const int8_t *xt = xq + t * groups * CK_GROUP;
        for (size_t r = rowBegin; r < rowEnd; r++) {
            const uint8_t *w = codes + r * codeBytes;
            const int8_t *groupScale = (const int8_t *)(w + groups * CK_GROUP / 2);
            float lanes[8] = {0};
            for (size_t b = 0; b < blocks; b++) {
                int32_t acc[8] = {0};
                size_t lastGroup = (b + 1) * CK_Q4_SUPER < groups ? (b + 1) * CK_Q4_SUPER : groups;
                for (size_t g = b * CK_Q4_SUPER; g < lastGroup; g++) {
                    const uint8_t *nibbles = w + g * CK_GROUP / 2;
                    const int8_t *a = xt + g * CK_GROUP;
                    int32_t c = groupScale[g];
                    for (int slot = 0; slot < CK_GROUP; slot++) {
                        // slot < 16: low nibble of byte `slot` (element 2 * slot); else the high nibble of slot - 16.
                        int code = (slot < 16 ? (nibbles[slot] & 0x0F) : (nibbles[slot - 16] >> 4)) - 8;
                        acc[slot / 4] += c * code * a[slot];
                    }
                }
                float factor = bf16_value(scales[r * blocks + b]) * xs[t * blocks + b];
                for (int j = 0; j < 8; j++) lanes[j] = fmaf((float)acc[j], factor, lanes[j]);
            }
            y[t * ldy + r] = lane_sum(lanes);
        }
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__clang__) && __clang_major__ >= 16
#include <immintrin.h>
#define AVX2_Q8 __attribute__((target("avx2,fma")))

// `tokens` (a literal at each call, so the loops unroll and the accumulators stay in registers) tokens x one
// weight row, from the row unpacked by unpack_row: per group of 32, the codes - 8 as signed bytes, then their
// magnitudes (vpmaddubsw takes the magnitude, the activations take the sign: llama.cpp's q4_0 trick).
static inline __attribute__((always_inline)) AVX2_Q8
void row_times_tokens(int tokens, const int8_t *x0, size_t stride, const float *xs, size_t blocks, size_t groups,
                      const int8_t *unpacked, const int8_t *groupScale, const uint16_t *superScales, float *y, size_t ldy) {
    __m256 lanes[4];
    for (int t = 0; t < tokens; t++) lanes[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        __m256i acc[4];
        for (int t = 0; t < tokens; t++) acc[t] = _mm256_setzero_si256();
        size_t lastGroup = (b + 1) * CK_Q4_SUPER < groups ? (b + 1) * CK_Q4_SUPER : groups;
        for (size_t g = b * CK_Q4_SUPER; g < lastGroup; g++) {
            __m256i code = _mm256_load_si256((const __m256i *)(unpacked + g * 2 * CK_GROUP));
            __m256i magnitude = _mm256_load_si256((const __m256i *)(unpacked + g * 2 * CK_GROUP + CK_GROUP));
            __m256i c = _mm256_set1_epi16(groupScale[g]);
            for (int t = 0; t < tokens; t++) {
                __m256i a = _mm256_loadu_si256((const __m256i *)(x0 + t * stride + g * CK_GROUP));
                __m256i pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(a, code));  // |pair| <= 2 * 8 * 127
                acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(pairs, c));
            }
        }
        float d = bf16_value(superScales[b]);
        for (int t = 0; t < tokens; t++) {
            __m256 factor = _mm256_set1_ps(d * xs[t * blocks + b]);
            lanes[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), factor, lanes[t]);
        }
    }
    for (int t = 0; t < tokens; t++) {
        float l[8];
        _mm256_storeu_ps(l, lanes[t]);
        y[t * ldy] = lane_sum(l);
    }
}

// One q4 row's codes as row_times_tokens reads them (64 bytes a group, 32-byte aligned).
static inline AVX2_Q8 void unpack_row(const uint8_t *w, size_t groups, int8_t *unpacked) {
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi8(8);
    for (size_t g = 0; g < groups; g++) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(w + g * CK_GROUP / 2));
        __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), low), _mm_and_si128(bytes, low));
        __m256i code = _mm256_sub_epi8(nib, eight);
        _mm256_store_si256((__m256i *)(unpacked + g * 2 * CK_GROUP), code);
        _mm256_store_si256((__m256i *)(unpacked + g * 2 * CK_GROUP + CK_GROUP), _mm256_abs_epi8(code));
    }
}

// The call's rows (a run of the product, at most CK_ACT8_ROWS) are unpacked once into `scratch`
// (CK_ACT8_ROWS * G * 64 bytes, 32-byte aligned), then multiplied by blocks of 4 tokens, each block walking all the
// rows: the tokens' codes stay in L1, the unpacked run in L2.
AVX2_Q8
void ck_gemm_q4_act8_avx2(const int8_t *xq, const float *xs, size_t m, size_t k,
                          const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                          float *y, size_t ldy, int8_t *scratch) {
    size_t groups = (k + CK_GROUP - 1) / CK_GROUP, blocks = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    size_t codeBytes = groups * (CK_GROUP / 2 + 1), stride = groups * CK_GROUP, unpackedBytes = groups * 2 * CK_GROUP;
    for (size_t first = rowBegin; first < rowEnd; first += CK_ACT8_ROWS) {
        size_t last = rowEnd - first < CK_ACT8_ROWS ? rowEnd : first + CK_ACT8_ROWS;
        for (size_t r = first; r < last; r++) unpack_row(codes + r * codeBytes, groups, scratch + (r - first) * unpackedBytes);
        for (size_t t0 = 0; t0 < m; t0 += 4) {
            size_t tokens = m - t0 < 4 ? m - t0 : 4;
            const int8_t *x0 = xq + t0 * stride;
            const float *s0 = xs + t0 * blocks;
            for (size_t r = first; r < last; r++) {
                const int8_t *unpacked = scratch + (r - first) * unpackedBytes;
                const int8_t *groupScale = (const int8_t *)(codes + r * codeBytes + groups * CK_GROUP / 2);
                const uint16_t *d = scales + r * blocks;
                float *out = y + t0 * ldy + r;
                switch (tokens) {
                case 4: row_times_tokens(4, x0, stride, s0, blocks, groups, unpacked, groupScale, d, out, ldy); break;
                case 3: row_times_tokens(3, x0, stride, s0, blocks, groups, unpacked, groupScale, d, out, ldy); break;
                case 2: row_times_tokens(2, x0, stride, s0, blocks, groups, unpacked, groupScale, d, out, ldy); break;
                default: row_times_tokens(1, x0, stride, s0, blocks, groups, unpacked, groupScale, d, out, ldy); break;
                }
            }
        }
    }
}

#else

void ck_gemm_q4_act8_avx2(const int8_t *xq, const float *xs, size_t m, size_t k,
                          const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                          float *y, size_t ldy, int8_t *scratch) {
    (void)scratch;
    ck_gemm_q4_act8_scalar(xq, xs, m, k, codes, scales, rowBegin, rowEnd, y, ldy);
}

#endif
