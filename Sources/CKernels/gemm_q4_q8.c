#include "CKernels.h"
#include <math.h>
#include <string.h>

// q4 weights x int8 activations (llama.cpp's q4_K x q8_K idea, oneDNN's u8 x s8 with compensation, on this project's
// q4 layout): on AVX2 hosts the F32 kernel is bound by its FMAs, and dequantizing q4 panels to float32 cannot beat
// it; vpmaddubsw does 32 multiply-adds in one instruction.
//
// Activations (ck_quantize_rows_act8): each row in blocks of 256 values (CK_Q4_SUPER groups of 32, the weights'
// super-blocks), one float32 scale per block = max|x| / 127, codes a = round-half-even(x / scale) in [-127, 127],
// stored biased as bytes a + 128 (vpmaddubsw's unsigned operand) in the natural order, padded to whole groups with
// a = 0.
//
// One output = sum over super-blocks b of fl(I_b) * (d_b * s_x,b), added in block order by fmaf from 0, where d_b is
// the weights' BF16 super-scale, s_x,b the activations' block scale and I_b = sum over b's groups g of
// c_g * sum_i w_i a_i the exact integer (|I_b| < 2^26), with c_g the group's int8 scale code and w_i = nibble - 8
// (0 past the row's k). Both paths compute exactly this, so they give the same bits on any batch or tile (tested).
//
// The AVX2 path multiplies the biased codes a + 128 by w and subtracts the weights-only compensation
// 128 * sum_g c_g sum_i w_i (computed once, when a run of rows is packed): the same integer. Within a group, eight
// vpmaddubsw pair sums of at most |2 * 255 * 8| are added in int16 (|sum| <= 32640, no wrap), then vpmaddwd
// multiplies them by c_g into int32.

#define CK_ACT_BLOCK (CK_GROUP * CK_Q4_SUPER)

static inline size_t groups_of(size_t k) { return (k + CK_GROUP - 1) / CK_GROUP; }
static inline size_t blocks_of(size_t groups) { return (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER; }

static inline float round_even(float x) { return (x + 12582912.0f) - 12582912.0f; }

static inline float bf16_value(uint16_t bits) {
    union { uint32_t b; float f; } u = { (uint32_t)bits << 16 };
    return u.f;
}

// One block's scale and reciprocal; the same in both paths.
static inline float block_inverse(float largest, float *scale) {
    *scale = largest / 127.0f;
    return largest > 0 ? 127.0f / largest : 0;
}

static inline uint8_t biased_code(float x, float inverse) {
    float q = round_even(x * inverse);
    q = q > 127 ? 127 : (q < -127 ? -127 : q);
    return (uint8_t)((int)q + 128);
}

void ck_quantize_rows_act8(const float *x, size_t ldx, size_t m, size_t k, uint8_t *codes, float *scales) {
    size_t groups = groups_of(k), blocks = blocks_of(groups), stride = groups * CK_GROUP;
    for (size_t r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        uint8_t *c = codes + r * stride;
        for (size_t b = 0; b < blocks; b++) {
            size_t start = b * CK_ACT_BLOCK, end = start + CK_ACT_BLOCK < k ? start + CK_ACT_BLOCK : k;
            float largest = 0;
            for (size_t i = start; i < end; i++) largest = fmaxf(largest, fabsf(row[i]));
            float inverse = block_inverse(largest, &scales[r * blocks + b]);
            for (size_t i = start; i < end; i++) c[i] = biased_code(row[i], inverse);
        }
        memset(c + k, 128, stride - k);
    }
}

void ck_gemm_q4_act8_scalar(const uint8_t *xq, const float *xs, size_t m, size_t k,
                            const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                            float *y, size_t ldy) {
    size_t groups = groups_of(k), blocks = blocks_of(groups), codeBytes = groups * (CK_GROUP / 2 + 1);
    for (size_t t = 0; t < m; t++) {
        const uint8_t *xt = xq + t * groups * CK_GROUP;
        for (size_t r = rowBegin; r < rowEnd; r++) {
            const uint8_t *w = codes + r * codeBytes;
            const int8_t *groupScale = (const int8_t *)(w + groups * CK_GROUP / 2);
            float sum = 0;
            for (size_t b = 0; b < blocks; b++) {
                int32_t block = 0;
                size_t lastGroup = (b + 1) * CK_Q4_SUPER < groups ? (b + 1) * CK_Q4_SUPER : groups;
                for (size_t g = b * CK_Q4_SUPER; g < lastGroup; g++) {
                    int32_t group = 0;
                    for (size_t i = g * CK_GROUP; i < (g + 1) * CK_GROUP && i < k; i++) {
                        uint8_t byte = w[i / 2];
                        int code = (i % 2 == 0 ? (byte & 0x0F) : (byte >> 4)) - 8;
                        group += code * ((int)xt[i] - 128);
                    }
                    block += (int32_t)groupScale[g] * group;
                }
                sum = fmaf((float)block, bf16_value(scales[r * blocks + b]) * xs[t * blocks + b], sum);
            }
            y[t * ldy + r] = sum;
        }
    }
}

// A packed sub-panel of 8 weight rows (columns of y), all offsets 32-byte multiples:
//   codes  G x 8 steps x 8 rows x 4 bytes: step s of group g holds each row's w for k = 32g + 4s .. 32g + 4s + 3
//   scales G x 8 rows x 2 int16: c_g twice (vpmaddwd's pairs)
//   comp   B x 8 int32: -128 * sum over the block's groups of c_g * sum_i w_i (the accumulators' start)
//   d      B x 8 float: the super-scales
static inline size_t subpanel_d_at(size_t groups, size_t blocks) { return groups * 288 + blocks * 32; }
static inline size_t subpanel_bytes(size_t groups, size_t blocks) { return subpanel_d_at(groups, blocks) + blocks * 32; }

size_t ck_act8_scratch_bytes(size_t k) {
    size_t groups = groups_of(k);
    return CK_ACT8_ROWS / 8 * subpanel_bytes(groups, blocks_of(groups));
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__clang__) && __clang_major__ >= 16
#include <immintrin.h>
#define AVX2_Q8 __attribute__((target("avx2,fma")))

static inline size_t subpanel_scales_at(size_t groups) { return groups * 256; }
static inline size_t subpanel_comp_at(size_t groups) { return groups * 288; }

AVX2_Q8
void ck_quantize_rows_act8_avx2(const float *x, size_t ldx, size_t m, size_t k, uint8_t *codes, float *scales) {
    size_t groups = groups_of(k), blocks = blocks_of(groups), stride = groups * CK_GROUP;
    const __m256 signBit = _mm256_set1_ps(-0.0f), top = _mm256_set1_ps(127), bottom = _mm256_set1_ps(-127);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7), bias = _mm256_set1_epi8((char)0x80);
    for (size_t r = 0; r < m; r++) {
        const float *row = x + r * ldx;
        uint8_t *c = codes + r * stride;
        for (size_t b = 0; b < blocks; b++) {
            size_t start = b * CK_ACT_BLOCK, end = start + CK_ACT_BLOCK < k ? start + CK_ACT_BLOCK : k, i = start;
            __m256 most = _mm256_setzero_ps();
            for (; i + 8 <= end; i += 8) most = _mm256_max_ps(most, _mm256_andnot_ps(signBit, _mm256_loadu_ps(row + i)));
            float lanes[8], largest = 0;
            _mm256_storeu_ps(lanes, most);
            for (int j = 0; j < 8; j++) largest = fmaxf(largest, lanes[j]);
            for (; i < end; i++) largest = fmaxf(largest, fabsf(row[i]));
            float inverse = block_inverse(largest, &scales[r * blocks + b]);
            __m256 scale = _mm256_set1_ps(inverse);
            // x * inverse rounded half-even (the default MXCSR mode of vcvtps2dq), clamped, packed to bytes.
            for (i = start; i + 32 <= end; i += 32) {
                __m256i q[4];
                for (int j = 0; j < 4; j++) {
                    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(row + i + 8 * j), scale);
                    q[j] = _mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(v, top), bottom));
                }
                __m256i words = _mm256_packs_epi32(q[0], q[1]), words2 = _mm256_packs_epi32(q[2], q[3]);
                __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(words, words2), order);
                _mm256_storeu_si256((__m256i *)(c + i), _mm256_xor_si256(bytes, bias));
            }
            for (; i < end; i++) c[i] = biased_code(row[i], inverse);
        }
        memset(c + k, 128, stride - k);
    }
}

// 8 rows of 8 int32 each -> 8 columns: v[s] holds element s of every input row.
static inline AVX2_Q8 void transpose8(__m256i v[8]) {
    __m256i t[8], u[8];
    for (int j = 0; j < 4; j++) {
        t[2 * j] = _mm256_unpacklo_epi32(v[2 * j], v[2 * j + 1]);
        t[2 * j + 1] = _mm256_unpackhi_epi32(v[2 * j], v[2 * j + 1]);
    }
    for (int j = 0; j < 2; j++) {
        u[4 * j] = _mm256_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 1] = _mm256_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 2] = _mm256_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
        u[4 * j + 3] = _mm256_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
    }
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x20);
        v[j + 4] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x31);
    }
}

// `valid` (<= 8) q4 rows from `w` (row stride codeBytes) packed as one sub-panel (layout above); missing rows are 0.
// Out of line so that profiles show its share apart from the tiles (0.5% of the cycles on the benchmark model).
static __attribute__((noinline)) AVX2_Q8
void pack_subpanel(const uint8_t *w, size_t codeBytes, const uint16_t *superScales, size_t valid, size_t k, uint8_t *out) {
    size_t groups = groups_of(k), blocks = blocks_of(groups);
    uint8_t *stepCodes = out;
    int16_t *groupScales = (int16_t *)(out + subpanel_scales_at(groups));
    int32_t *comp = (int32_t *)(out + subpanel_comp_at(groups));
    float *d = (float *)(out + subpanel_d_at(groups, blocks));
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi8(8), ones = _mm256_set1_epi8(1);
    const __m256i index = _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                           21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    __m256i blockComp = _mm256_setzero_si256();
    for (size_t g = 0; g < groups; g++) {
        // Past k the weights are 0 (the activations' padding is a = 0, biased 128, which must not count).
        __m256i keep = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(k - g * CK_GROUP < CK_GROUP ? k - g * CK_GROUP : CK_GROUP)), index);
        __m256i v[8];
        int16_t c[8];
        for (size_t j = 0; j < 8; j++) {
            if (j < valid) {
                const uint8_t *row = w + j * codeBytes;
                __m128i bytes = _mm_loadu_si128((const __m128i *)(row + g * CK_GROUP / 2));
                __m128i lo = _mm_and_si128(bytes, low), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low);
                __m256i natural = _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
                v[j] = _mm256_and_si256(_mm256_sub_epi8(natural, eight), keep);
                c[j] = ((const int8_t *)(row + groups * CK_GROUP / 2))[g];
            } else {
                v[j] = _mm256_setzero_si256();
                c[j] = 0;
            }
        }
        transpose8(v);
        __m256i scale = _mm256_setr_epi16(c[0], c[0], c[1], c[1], c[2], c[2], c[3], c[3], c[4], c[4], c[5], c[5],
                                          c[6], c[6], c[7], c[7]);
        _mm256_store_si256((__m256i *)(groupScales + g * 16), scale);
        __m256i sums = _mm256_setzero_si256();
        for (int s = 0; s < 8; s++) {
            _mm256_store_si256((__m256i *)(stepCodes + (g * 8 + s) * 32), v[s]);
            sums = _mm256_add_epi16(sums, _mm256_maddubs_epi16(ones, v[s]));
        }
        blockComp = _mm256_add_epi32(blockComp, _mm256_madd_epi16(sums, scale));
        if (g % CK_Q4_SUPER == CK_Q4_SUPER - 1 || g == groups - 1) {
            size_t b = g / CK_Q4_SUPER;
            _mm256_store_si256((__m256i *)(comp + b * 8), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(blockComp, 7)));
            blockComp = _mm256_setzero_si256();
            for (size_t j = 0; j < 8; j++) d[b * 8 + j] = j < valid ? bf16_value(superScales[j * blocks + b]) : 0;
        }
    }
}

// `tokens` x (8 * halves) outputs from `halves` consecutive sub-panels at p (both literals at each call, so the
// loops unroll and the int16 sums stay in registers: 8 of them, 2 weight vectors and the broadcast activations).
static inline __attribute__((always_inline)) AVX2_Q8
void tile(int tokens, int halves, const uint8_t *x0, size_t stride, const float *xs0, size_t groups, size_t blocks,
          const uint8_t *p, size_t subBytes, float *y, size_t ldy, size_t columns) {
    const size_t scalesAt = subpanel_scales_at(groups), compAt = subpanel_comp_at(groups), dAt = subpanel_d_at(groups, blocks);
    __m256 sum[4][2];
    for (int t = 0; t < tokens; t++)
        for (int h = 0; h < halves; h++) sum[t][h] = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; b++) {
        __m256i block[4][2];
        for (int h = 0; h < halves; h++) {
            __m256i start = _mm256_load_si256((const __m256i *)(p + h * subBytes + compAt + b * 32));
            for (int t = 0; t < tokens; t++) block[t][h] = start;
        }
        size_t lastGroup = (b + 1) * CK_Q4_SUPER < groups ? (b + 1) * CK_Q4_SUPER : groups;
        for (size_t g = b * CK_Q4_SUPER; g < lastGroup; g++) {
            __m256i pairs[4][2];
            for (int t = 0; t < tokens; t++)
                for (int h = 0; h < halves; h++) pairs[t][h] = _mm256_setzero_si256();
            const uint8_t *xg = x0 + g * CK_GROUP;
            for (int s = 0; s < 8; s++) {
                __m256i wv[2];
                for (int h = 0; h < halves; h++) wv[h] = _mm256_load_si256((const __m256i *)(p + h * subBytes + (g * 8 + s) * 32));
                for (int t = 0; t < tokens; t++) {
                    int32_t four;
                    memcpy(&four, xg + t * stride + 4 * s, 4);
                    __m256i a = _mm256_set1_epi32(four);
                    for (int h = 0; h < halves; h++) pairs[t][h] = _mm256_add_epi16(pairs[t][h], _mm256_maddubs_epi16(a, wv[h]));
                }
            }
            for (int h = 0; h < halves; h++) {
                __m256i c = _mm256_load_si256((const __m256i *)(p + h * subBytes + scalesAt + g * 32));
                for (int t = 0; t < tokens; t++) block[t][h] = _mm256_add_epi32(block[t][h], _mm256_madd_epi16(pairs[t][h], c));
            }
        }
        for (int h = 0; h < halves; h++) {
            __m256 d = _mm256_load_ps((const float *)(p + h * subBytes + dAt + b * 32));
            for (int t = 0; t < tokens; t++)
                sum[t][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block[t][h]), _mm256_mul_ps(d, _mm256_set1_ps(xs0[t * blocks + b])), sum[t][h]);
        }
    }
    for (int t = 0; t < tokens; t++) {
        if (columns == 8 * (size_t)halves) {
            for (int h = 0; h < halves; h++) _mm256_storeu_ps(y + t * ldy + 8 * h, sum[t][h]);
        } else {
            float out[16];
            for (int h = 0; h < halves; h++) _mm256_storeu_ps(out + 8 * h, sum[t][h]);
            memcpy(y + t * ldy, out, columns * sizeof(float));
        }
    }
}

#define TILE(tokens, halves) tile(tokens, halves, x0, stride, s0, groups, blocks, p, subBytes, out, ldy, columns)

// The call's rows, CK_ACT8_ROWS at a time, are packed into `scratch` (ck_act8_scratch_bytes(k), 32-byte aligned);
// then each tile of 16 of them (in L1) meets every token, 4 at a time.
AVX2_Q8
void ck_gemm_q4_act8_avx2(const uint8_t *xq, const float *xs, size_t m, size_t k,
                          const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                          float *y, size_t ldy, uint8_t *scratch) {
    size_t groups = groups_of(k), blocks = blocks_of(groups), codeBytes = groups * (CK_GROUP / 2 + 1);
    size_t stride = groups * CK_GROUP, subBytes = subpanel_bytes(groups, blocks);
    for (size_t first = rowBegin; first < rowEnd; first += CK_ACT8_ROWS) {
        size_t last = rowEnd - first < CK_ACT8_ROWS ? rowEnd : first + CK_ACT8_ROWS;
        for (size_t r = first; r < last; r += 8)
            pack_subpanel(codes + r * codeBytes, codeBytes, scales + r * blocks, last - r < 8 ? last - r : 8, k,
                          scratch + (r - first) / 8 * subBytes);
        for (size_t r = first; r < last; r += 16) {
            const uint8_t *p = scratch + (r - first) / 8 * subBytes;
            size_t columns = last - r < 16 ? last - r : 16;
            for (size_t t0 = 0; t0 < m; t0 += 4) {
                size_t tokens = m - t0 < 4 ? m - t0 : 4;
                const uint8_t *x0 = xq + t0 * stride;
                const float *s0 = xs + t0 * blocks;
                float *out = y + t0 * ldy + r;
                if (columns > 8) {
                    switch (tokens) {
                    case 4: TILE(4, 2); break;
                    case 3: TILE(3, 2); break;
                    case 2: TILE(2, 2); break;
                    default: TILE(1, 2); break;
                    }
                } else {
                    switch (tokens) {
                    case 4: TILE(4, 1); break;
                    case 3: TILE(3, 1); break;
                    case 2: TILE(2, 1); break;
                    default: TILE(1, 1); break;
                    }
                }
            }
        }
    }
}

#else

void ck_quantize_rows_act8_avx2(const float *x, size_t ldx, size_t m, size_t k, uint8_t *codes, float *scales) {
    ck_quantize_rows_act8(x, ldx, m, k, codes, scales);
}

void ck_gemm_q4_act8_avx2(const uint8_t *xq, const float *xs, size_t m, size_t k,
                          const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                          float *y, size_t ldy, uint8_t *scratch) {
    (void)scratch;
    ck_gemm_q4_act8_scalar(xq, xs, m, k, codes, scales, rowBegin, rowEnd, y, ldy);
}

#endif
