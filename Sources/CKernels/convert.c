#include "CKernels.h"
#include <string.h>

// Loads go through memcpy so a source that is not 2-byte aligned (a safetensors offset is only
// guaranteed to be a byte offset) is still read correctly; compilers turn it into plain loads.

void ck_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    const unsigned char *bytes = (const unsigned char *)src;
    for (size_t i = 0; i < n; i++) {
        uint16_t half;
        memcpy(&half, bytes + 2 * i, sizeof half);
        uint32_t bits = (uint32_t)half << 16;
        memcpy(&dst[i], &bits, sizeof bits);
    }
}

void ck_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    const unsigned char *bytes = (const unsigned char *)src;
    for (size_t i = 0; i < n; i++) {
        _Float16 h;
        memcpy(&h, bytes + 2 * i, sizeof h);
        dst[i] = (float)h;
    }
}

void ck_f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &src[i], sizeof bits);
        if ((bits & 0x7fffffffu) > 0x7f800000u) {
            dst[i] = (uint16_t)((bits >> 16) | 0x40u);  // NaN stays a (quiet) NaN
        } else {
            uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
            dst[i] = (uint16_t)((bits + rounding) >> 16);
        }
    }
}

void ck_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        _Float16 h = (_Float16)src[i];
        memcpy(&dst[i], &h, sizeof h);
    }
}
