#include "CKernels.h"

// y (m, n) = x (m, k) · Wᵀ where every output is one dot product summed in a fixed order (16 lanes over k, then a
// fixed tree), so a row's result never depends on how many other rows share the call or where the row sits.
//
// Why not sgemm: its rounding of a row depends on M and on the row's place in the call (OpenBLAS sends products with
// M·N·K <= 10^6 to "small matrix" kernels, and even its regular kernels changed the last bits of 1040 x 1024
// products with M here). A token's router logits (N = experts, N·K ~ 10^5) and every product of a tiny model would
// then change with the batch the token was packed into, and a sharded extract would not reproduce a whole one.
// The large projections run on the packed kernels where the CPU has them (row-invariant too), else on sgemm.
//
// Two builds of the same C: AVX-512F (one zmm of lanes) where the CPU has it, else the x86-64 baseline. FMA
// contraction is off (Package.swift's -ffp-contract=off, and the pragma below), so both round every product and
// every sum on its own and give the same bits: a host without AVX-512 stores what a host with it stores.

#pragma clang fp contract(off)

#define LANES 16

#define DEFINE_ROWWISE(NAME, ATTRIBUTES)                                                                            \
    ATTRIBUTES static void NAME(const float *x, size_t ldx, size_t m, size_t k, const float *w, size_t n,        \
                                float *y, size_t ldy) {                                                         \
        size_t body = k / LANES * LANES;                                                                        \
        for (size_t r = 0; r < m; r++) {                                                                        \
            const float *xr = x + r * ldx;                                                                      \
            for (size_t j = 0; j < n; j++) {                                                                    \
                const float *wj = w + j * k;                                                                    \
                float lane[LANES] = {0};                                                                        \
                for (size_t i = 0; i < body; i += LANES)                                                        \
                    for (int l = 0; l < LANES; l++) lane[l] += xr[i + l] * wj[i + l];                           \
                for (size_t i = body; i < k; i++) lane[i - body] += xr[i] * wj[i];                              \
                for (int width = LANES / 2; width > 0; width /= 2)                                              \
                    for (int l = 0; l < width; l++) lane[l] += lane[l + width];                                 \
                y[r * ldy + j] = lane[0];                                                                       \
            }                                                                                                   \
        }                                                                                                       \
    }

DEFINE_ROWWISE(rowwise_baseline, )

#if defined(__x86_64__) && defined(__clang__)
DEFINE_ROWWISE(rowwise_avx512, __attribute__((target("avx512f,fma"))))
#endif

void ck_sgemm_rowwise(const float *x, size_t ldx, size_t m, size_t k, const float *w, size_t n, float *y, size_t ldy) {
#if defined(__x86_64__) && defined(__clang__)
    // The fixed-order kernels' choice (fixed_order.c): AVX-512F unless the CPU lacks it or MOEE_FIXED_ORDER_ISA
    // asks for less; the same bits either way.
    if (ck_fixed_order_isa() == CK_ISA_AVX512) { rowwise_avx512(x, ldx, m, k, w, n, y, ldy); return; }
#endif
    rowwise_baseline(x, ldx, m, k, w, n, y, ldy);
}
