#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

// Widen n BF16 values (upper 16 bits of an IEEE float) to float32. src need not be aligned.
void ck_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
// Convert n IEEE half-precision values to float32. src need not be aligned.
void ck_f16_to_f32(const uint16_t *src, float *dst, size_t n);
// Narrow n float32 values to BF16, rounding to nearest even (what torch's .to(bfloat16) does).
void ck_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
// Narrow n float32 values to IEEE half precision (round to nearest even).
void ck_f32_to_f16(const float *src, uint16_t *dst, size_t n);

// 1 when the CPU and the OS support AVX-512F (cpuid + xgetbv), else 0.
int ck_cpu_has_avx512f(void);
// 1 when the CPU supports AVX-512 BF16 (vdpbf16ps), else 0.
int ck_cpu_has_avx512bf16(void);

#endif
