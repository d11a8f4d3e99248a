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

// Weights a quantization group shares one scale with (along a row).
#define CK_GROUP 32
#define CK_GROUP_Q8 64
// Quantize one row of `cols` floats: ceil(cols/64) BF16 scales and ceil(cols/64)*64 int8 codes (q8) or
// ceil(cols/32) BF16 scales and ceil(cols/32)*16 bytes of 4-bit codes (q4); the last group is zero-padded.
void ck_quantize_row_q8(const float *src, size_t cols, int8_t *codes, uint16_t *scales);
void ck_quantize_row_q4(const float *src, size_t cols, uint8_t *codes, uint16_t *scales);
// Dequantize `rows` rows quantized as above into rows * cols floats.
void ck_dequantize_rows_q8(const int8_t *codes, const uint16_t *scales, size_t rows, size_t cols, float *dst);
void ck_dequantize_rows_q4(const uint8_t *codes, const uint16_t *scales, size_t rows, size_t cols, float *dst);
// A fast non-cryptographic 64-bit checksum (the quantized-weight cache's data check).
uint64_t ck_checksum64(const void *data, size_t count);

#endif
