#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

// Widen n BF16 values (upper 16 bits of an IEEE float) to float32.
void ck_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
// Convert n IEEE half-precision values to float32.
void ck_f16_to_f32(const uint16_t *src, float *dst, size_t n);

#endif
