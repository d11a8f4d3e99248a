#include "CKernels.h"
#include <math.h>
#include <string.h>

// Per-group quantization along a row: groups of CK_GROUP_Q8 (int8) or CK_GROUP (q4) weights share one scale
// (possibly negative, so the largest-magnitude weight can use the extra negative code, as llama.cpp's q4_0 does);
// codes are round(w / scale) in [-128, 127] (int8) or [-8, 7] (q4) with the scale as stored, so the only error is
// each weight's rounding. q4 packs two codes a byte: element 2i in the low nibble, 2i+1 in the high one, both
// offset by 8. The last group of a row is padded with zeros.
// int8 stores each scale as BF16 (2 bytes per 64 weights). q4 stores each group's scale as an int8 code s times a
// BF16 super-scale d shared by CK_Q4_SUPER groups (as llama.cpp's K-quants do): 4 + 8/32 + 16/256 bits = 0.539 bytes a
// weight instead of 0.5625 with a BF16 scale per group, with the same weight error on the fixtures (relative RMS
// 0.0843 either way; groups of 64 with BF16 scales, 0.531 bytes: 0.0911): with d = the largest scale / 127, a scale
// down to a quarter of the largest keeps 5 significant bits, and a group with a much smaller scale has a much
// smaller error to add to anyway (docs/performance.md, "Choosing the q4 format").

// rintf (round half to even in the default mode) for |x| < 2^22 without a libm call: adding and subtracting 1.5 * 2^23
// rounds in the FPU. Vectorises without SSE4.1 (rintf is a call at the x86-64 baseline): quantizing runs ~4x faster.
// Codes are clamped right after, and a larger |x| stays beyond the clamp.
// (Without -ffast-math no compiler folds (x + m) - m.)
static inline float round_even(float x) { return (x + 12582912.0f) - 12582912.0f; }

static uint16_t to_bf16(float x) {
    uint16_t out;
    ck_f32_to_bf16(&x, &out, 1);
    return out;
}

static float from_bf16(uint16_t x) {
    uint32_t bits = (uint32_t)x << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

// Picks the group's scale among candidates -m / c (m = the weight of largest magnitude, so m maps to code -c and
// the asymmetric code range [lo, hi] is used fully) by least squared rounding error, rounded as it will be stored:
// to BF16 (grid 0; *stored = its bits), not at all (grid < 0: q4's first pass), or to a multiple s * grid with s in
// [-127, 127] (*stored = s). Returns the stored value; the codes are then computed from exactly that scale.
static float group_scale(const float *src, size_t count, int lo, int hi, float grid, int *stored) {
    float m = 0;
    for (size_t i = 0; i < count; i++) if (fabsf(src[i]) > fabsf(m)) m = src[i];
    *stored = 0;
    if (m == 0) return 0;
    float best = 0, bestError = INFINITY;
    for (int step = 0; step <= 8; step++) {
        float c = (float)(-lo) - 0.125f * (float)step;   // -lo, -lo - 1/8, ... , -lo - 1
        float scale = -m / c;
        int candidate = 0;
        if (grid == 0) {
            candidate = to_bf16(scale);
            scale = from_bf16((uint16_t)candidate);
        } else if (grid > 0) {
            float s = round_even(scale / grid);
            candidate = (int)(s > 127 ? 127 : (s < -127 ? -127 : s));
            scale = grid * (float)candidate;
        }
        float inverse = scale != 0 ? 1.0f / scale : 0, lanes[8] = {0};
        size_t i = 0;
        for (; i + 8 <= count; i += 8) {  // eight partial sums, so the compiler can vectorise
            for (int j = 0; j < 8; j++) {
                float q = round_even(src[i + j] * inverse);
                q = q > hi ? hi : (q < lo ? lo : q);
                float d = src[i + j] - q * scale;
                lanes[j] += d * d;
            }
        }
        for (; i < count; i++) {
            float q = round_even(src[i] * inverse);
            q = q > hi ? hi : (q < lo ? lo : q);
            float d = src[i] - q * scale;
            lanes[0] += d * d;
        }
        float error = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        if (error < bestError) { bestError = error; best = scale; *stored = candidate; }
    }
    return best;
}

void ck_quantize_row_q8(const float *src, size_t cols, int8_t *codes, uint16_t *scales) {
    size_t groups = (cols + CK_GROUP_Q8 - 1) / CK_GROUP_Q8;
    for (size_t g = 0; g < groups; g++) {
        size_t start = g * CK_GROUP_Q8, count = cols - start < CK_GROUP_Q8 ? cols - start : CK_GROUP_Q8;
        int stored;
        float scale = group_scale(src + start, count, -128, 127, 0, &stored);
        scales[g] = (uint16_t)stored;
        float inverse = scale != 0 ? 1.0f / scale : 0;
        for (size_t i = 0; i < CK_GROUP_Q8; i++) {
            float q = i < count ? round_even(src[start + i] * inverse) : 0;
            codes[start + i] = (int8_t)(q > 127 ? 127 : (q < -128 ? -128 : q));
        }
    }
}

// q4, per super-block of CK_Q4_SUPER groups: each group's best scale unrounded, d = the largest magnitude / 127
// rounded up to BF16 (so every scale fits in [-127, 127] steps of d), then each group's scale chosen again on that
// grid and its codes computed.
void ck_quantize_row_q4(const float *src, size_t cols, uint8_t *codes, uint16_t *scales) {
    size_t groups = (cols + CK_GROUP - 1) / CK_GROUP;
    int8_t *scaleCodes = (int8_t *)(codes + groups * CK_GROUP / 2);
    for (size_t first = 0; first < groups; first += CK_Q4_SUPER) {
        size_t last = groups - first < CK_Q4_SUPER ? groups : first + CK_Q4_SUPER;
        float largest = 0;
        for (size_t g = first; g < last; g++) {
            size_t start = g * CK_GROUP, count = cols - start < CK_GROUP ? cols - start : CK_GROUP;
            int unused;
            float scale = fabsf(group_scale(src + start, count, -8, 7, -1, &unused));
            if (scale > largest) largest = scale;
        }
        uint16_t super = to_bf16(largest / 127);
        if (from_bf16(super) * 127 < largest) super++;  // the next BF16 up (positive, finite)
        scales[first / CK_Q4_SUPER] = super;
        float d = from_bf16(super);
        for (size_t g = first; g < last; g++) {
            size_t start = g * CK_GROUP, count = cols - start < CK_GROUP ? cols - start : CK_GROUP;
            int code = 0;
            float scale = d != 0 ? group_scale(src + start, count, -8, 7, d, &code) : 0;
            scaleCodes[g] = (int8_t)code;
            float inverse = scale != 0 ? 1.0f / scale : 0;
            for (size_t i = 0; i < CK_GROUP; i += 2) {
                float a = i < count ? round_even(src[start + i] * inverse) : 0;
                float b = i + 1 < count ? round_even(src[start + i + 1] * inverse) : 0;
                int qa = (int)(a > 7 ? 7 : (a < -8 ? -8 : a)) + 8, qb = (int)(b > 7 ? 7 : (b < -8 ? -8 : b)) + 8;
                codes[(start + i) / 2] = (uint8_t)(qa | (qb << 4));
            }
        }
    }
}

void ck_dequantize_rows_q8(const int8_t *codes, const uint16_t *scales, size_t rows, size_t cols, float *dst) {
    size_t groups = (cols + CK_GROUP_Q8 - 1) / CK_GROUP_Q8, stride = groups * CK_GROUP_Q8;
    for (size_t r = 0; r < rows; r++) {
        const int8_t *c = codes + r * stride;
        const uint16_t *s = scales + r * groups;
        float *d = dst + r * cols;
        for (size_t g = 0; g < groups; g++) {
            float scale = from_bf16(s[g]);
            size_t start = g * CK_GROUP_Q8, count = cols - start < CK_GROUP_Q8 ? cols - start : CK_GROUP_Q8;
            for (size_t i = 0; i < count; i++) d[start + i] = scale * (float)c[start + i];
        }
    }
}

void ck_dequantize_rows_q4(const uint8_t *codes, const uint16_t *scales, size_t rows, size_t cols, float *dst) {
    size_t groups = (cols + CK_GROUP - 1) / CK_GROUP, stride = groups * (CK_GROUP / 2 + 1);
    size_t supers = (groups + CK_Q4_SUPER - 1) / CK_Q4_SUPER;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *c = codes + r * stride;
        const uint16_t *s = scales + r * supers;
        float *d = dst + r * cols;
        for (size_t g = 0; g < groups; g++) {
            float scale = ck_q4_scale(c, s, groups, g);
            size_t start = g * CK_GROUP, count = cols - start < CK_GROUP ? cols - start : CK_GROUP;
            if (count == CK_GROUP) {
                for (size_t i = 0; i < CK_GROUP / 2; i++) {
                    uint8_t byte = c[start / 2 + i];
                    d[start + 2 * i] = scale * (float)((int)(byte & 15) - 8);
                    d[start + 2 * i + 1] = scale * (float)((int)(byte >> 4) - 8);
                }
            } else {
                for (size_t i = 0; i < count; i++) {
                    uint8_t byte = c[(start + i) / 2];
                    int q = (i & 1) ? (byte >> 4) : (byte & 15);
                    d[start + i] = scale * (float)(q - 8);
                }
            }
        }
    }
}

// A 64-bit checksum of `count` bytes (four multiply-xor lanes over 8-byte words, then the tail): fast enough to
// check a multi-GB quantized-weight cache at load. Not cryptographic: it catches truncation and corruption.
uint64_t ck_checksum64(const void *data, size_t count) {
    const unsigned char *p = (const unsigned char *)data;
    const uint64_t prime = 0x9E3779B97F4A7C15ull;
    uint64_t lane[4] = {1, 2, 3, 4};
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * j, 8);
            lane[j] = (lane[j] ^ w) * prime;
            lane[j] ^= lane[j] >> 29;
        }
    }
    uint64_t h = (uint64_t)count * prime;
    for (int j = 0; j < 4; j++) h = (h ^ lane[j]) * prime;
    for (; i < count; i++) h = (h ^ p[i]) * prime;
    return h ^ (h >> 32);
}
