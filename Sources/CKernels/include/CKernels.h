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
// 1 when the CPU and the OS support AVX2 and FMA, else 0.
int ck_cpu_has_avx2_fma(void);
// 1 when the CPU supports AVX-512 BF16 (vdpbf16ps), else 0.
int ck_cpu_has_avx512bf16(void);

// Weights a quantization group shares one scale with (along a row).
#define CK_GROUP 32
#define CK_GROUP_Q8 64
// q4 groups whose scales share one BF16 super-scale (256 weights).
#define CK_Q4_SUPER 8
// Quantize one row of `cols` floats, the last group zero-padded. q8: ceil(cols/64) BF16 scales and ceil(cols/64)*64
// int8 codes. q4, G = ceil(cols/32) groups: G*16 bytes of 4-bit codes followed by G int8 scale codes in `codes`
// (G*17 bytes), ceil(G/8) BF16 super-scales in `scales`; group g's scale is scales[g/8] * code g (ck_q4_scale).
void ck_quantize_row_q8(const float *src, size_t cols, int8_t *codes, uint16_t *scales);
void ck_quantize_row_q4(const float *src, size_t cols, uint8_t *codes, uint16_t *scales);
// The scale of group g of one q4 row (its codes and super-scales, `groups` groups): exact in float32 (8 significant
// bits of BF16 times 7 of the code), so every reader computes the same weights.
static inline float ck_q4_scale(const uint8_t *codes, const uint16_t *scales, size_t groups, size_t g) {
    union { uint32_t bits; float value; } super = { (uint32_t)scales[g / CK_Q4_SUPER] << 16 };
    return super.value * (float)((const int8_t *)(codes + groups * CK_GROUP / 2))[g];
}
// Dequantize `rows` rows quantized as above into rows * cols floats.
void ck_dequantize_rows_q8(const int8_t *codes, const uint16_t *scales, size_t rows, size_t cols, float *dst);
void ck_dequantize_rows_q4(const uint8_t *codes, const uint16_t *scales, size_t rows, size_t cols, float *dst);
// A fast non-cryptographic 64-bit checksum (the quantized-weight cache's data check).
uint64_t ck_checksum64(const void *data, size_t count);

// y (m, n) = x (m, k) · Wᵀ (W row-major (n, k), row strides ldx / ldy) with each output summed in a fixed order,
// whatever m or the row's place (gemm_rowwise.c): for the products OpenBLAS would send to its small-matrix kernels.
void ck_sgemm_rowwise(const float *x, size_t ldx, size_t m, size_t k, const float *w, size_t n, float *y, size_t ldy);

// BF16 GEMM (gemm_bf16.c), for CPUs where ck_cpu_has_avx512bf16() is 1.
// Output columns a packed panel holds: each k pair of a panel is one 64-byte line (16 columns x 2 BF16 weights).
#define CK_BF16_PANEL 16
// Packs `valid` (<= 16) rows of W (row j at rows + j * k, float32) as one panel of ceil(k/2) lines, rounding each
// weight to BF16 (exact for weights that were BF16); missing rows and the odd k's pad are zero.
void ck_bf16_pack_panel(const float *rows, size_t valid, size_t k, uint16_t *panel);
// The same from BF16 rows (any alignment), copied as they are.
void ck_bf16_pack_panel_bf16(const uint16_t *rows, size_t valid, size_t k, uint16_t *panel);
// Rounds m rows of x (row stride ldx floats) to BF16 into dst: rows of 2 * ceil(k/2) values, an odd k padded with 0.
void ck_bf16_round_rows(const float *x, size_t ldx, size_t m, size_t k, uint16_t *dst);
// y[:, 16 * panelBegin ..< min(n, 16 * panelEnd)] = x · Wᵀ: x from ck_bf16_round_rows (m rows), W packed as
// ceil(n/16) panels in a row (64-byte aligned), y of row stride ldy. Accumulates in float32.
void ck_gemm_bf16(const uint16_t *x, size_t m, size_t k, const uint16_t *packed, size_t n,
                  size_t panelBegin, size_t panelEnd, float *y, size_t ldy);
// One panel of `valid` (<= 16) quantized rows of k weights (codes and scales from the panel's first row, laid out as
// ck_quantize_row_q8 / _q4 write them) dequantized and packed as ck_bf16_pack_panel packs the dequantized floats
// (bit for bit). `panel` is 64-byte aligned, ceil(k/2) * 32 values.
void ck_bf16_pack_panel_q8(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, uint16_t *panel);
void ck_bf16_pack_panel_q4(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, uint16_t *panel);

// Float32 GEMM (gemm_f32.c), for CPUs where ck_cpu_has_avx512f() is 1 (elsewhere a scalar loop, for tests).
// Output columns a packed panel holds: each k index of a panel is one 64-byte line of 16 columns' weights.
#define CK_F32_PANEL 16
// Both kernels' runs are handed out by the same code (PackedMatrix.multiply), in panels of one width.
_Static_assert(CK_F32_PANEL == CK_BF16_PANEL, "the F32 and BF16 kernels share their panel width");
// Packs `valid` (<= 16) rows of W (row j at rows + j * k, float32) as one panel of k lines of 16 floats; missing
// rows are zero. `panel` is 64-byte aligned, k * 16 floats.
void ck_f32_pack_panel(const float *rows, size_t valid, size_t k, float *panel);
// y[:, 16 * panelBegin ..< min(n, 16 * panelEnd)] = x · Wᵀ: x of m rows (row stride ldx floats, read in place), W
// packed as ceil(n/16) panels in a row (64-byte aligned), y of row stride ldy. Other columns of y are untouched.
void ck_gemm_f32(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                 size_t panelBegin, size_t panelEnd, float *y, size_t ldy);
// The same on AVX2 + FMA (for CPUs where ck_cpu_has_avx2_fma() is 1), and as a portable loop. All three compute
// each output as one chain of fused multiply-adds over k = 0, 1, ..., so they give the same bits.
void ck_gemm_f32_avx2(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                      size_t panelBegin, size_t panelEnd, float *y, size_t ldy);
void ck_gemm_f32_scalar(const float *x, size_t ldx, size_t m, size_t k, const float *packed, size_t n,
                        size_t panelBegin, size_t panelEnd, float *y, size_t ldy);
// The same product with W as BF16 panels (ck_bf16_pack_panel's layout) widened in registers, x in float32: the same
// bits as ck_gemm_f32 on the widened weights. AVX2 + FMA, and the portable loop.
void ck_gemm_f32_bf16w_avx2(const float *x, size_t ldx, size_t m, size_t k, const uint16_t *packed, size_t n,
                            size_t panelBegin, size_t panelEnd, float *y, size_t ldy);
void ck_gemm_f32_bf16w_scalar(const float *x, size_t ldx, size_t m, size_t k, const uint16_t *packed, size_t n,
                              size_t panelBegin, size_t panelEnd, float *y, size_t ldy);

// One panel of `valid` (<= 16) quantized rows of k weights (codes and scales from the panel's first row, as
// ck_quantize_row_q8 / _q4 lay them out) dequantized into ck_f32_pack_panel's layout: bit for bit ck_f32_pack_panel
// of ck_dequantize_rows_*'s floats (pack_f32_quantized.c). `panel` is 64-byte aligned, k * 16 floats. The _avx2
// versions are for CPUs where ck_cpu_has_avx2_fma() is 1; the others are portable loops with the same bits.
void ck_f32_pack_panel_q8(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel);
void ck_f32_pack_panel_q4(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel);
void ck_f32_pack_panel_q8_avx2(const int8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel);
void ck_f32_pack_panel_q4_avx2(const uint8_t *codes, const uint16_t *scales, size_t valid, size_t k, float *panel);

// Stage two's products with every output summed in one fixed order (fixed_order.c), so that scores are the same
// bits on every x86-64 host: 16 float32 (8 float64) lanes over k, the tail into the first lanes, lanes folded by
// halves, each product and sum rounded on its own (no FMA).
// c[i * ldc + j] = a_i · b_j for rows a_i of a (m x k, stride lda) and b_j of b (n x k, stride ldb).
void ck_dot_rows_f32(const float *a, size_t lda, size_t m, const float *b, size_t ldb, size_t n, size_t k, float *c,
                     size_t ldc);
void ck_dot_rows_f64(const double *a, size_t lda, size_t m, const double *b, size_t ldb, size_t n, size_t k,
                     double *c, size_t ldc);
// out[o * ldo + j] = sum over rows i in order of g[i * ldg + o] * x[i * ldx + j] (o < outputs, j < d): Gᵀ X.
void ck_weighted_rows_f32(const float *g, size_t ldg, size_t n, size_t outputs, const float *x, size_t ldx, size_t d,
                          float *out, size_t ldo);
// The build of those kernels (and of ck_sgemm_rowwise) in use (CK_ISA_*): the best the CPU has unless
// MOEE_FIXED_ORDER_ISA=baseline|avx2 asks for less. All builds give the same bits; only their speed differs.
#define CK_ISA_BASELINE 0
#define CK_ISA_AVX2 1
#define CK_ISA_AVX512 2
int ck_fixed_order_isa(void);
// Uses `level` from now on (or the best below it the CPU has); returns the level chosen. For tests.
int ck_fixed_order_set_isa(int level);

// q4 weights x int8 activations (gemm_q4_q8.c). ck_quantize_rows_act8: m rows of x (stride ldx) in blocks of 256
// values with one float32 scale each (scales: m * ceil(G/8)), codes a in [-127, 127] stored as bytes a + 128 in the
// natural order (codes: m * G * 32, padded with a = 0), G = ceil(k/32). The _avx2 version gives the same bytes.
void ck_quantize_rows_act8(const float *x, size_t ldx, size_t m, size_t k, uint8_t *codes, float *scales);
void ck_quantize_rows_act8_avx2(const float *x, size_t ldx, size_t m, size_t k, uint8_t *codes, float *scales);
// y[t][r] for t < m, rowBegin <= r < rowEnd: q4 rows (ck_quantize_row_q4's codes and super-scales, row after row)
// times the quantized activations. The AVX2 path and the portable loop give the same bits; the AVX2 path packs
// up to CK_ACT8_ROWS rows at a time into `scratch` (ck_act8_scratch_bytes(k) bytes, 32-byte aligned).
#define CK_ACT8_ROWS 48
size_t ck_act8_scratch_bytes(size_t k);
void ck_gemm_q4_act8_avx2(const uint8_t *xq, const float *xs, size_t m, size_t k,
                          const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                          float *y, size_t ldy, uint8_t *scratch);
void ck_gemm_q4_act8_scalar(const uint8_t *xq, const float *xs, size_t m, size_t k,
                            const uint8_t *codes, const uint16_t *scales, size_t rowBegin, size_t rowEnd,
                            float *y, size_t ldy);

#endif
