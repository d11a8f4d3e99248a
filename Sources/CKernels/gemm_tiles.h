#ifndef CK_GEMM_TILES_H
#define CK_GEMM_TILES_H
#include <stddef.h>

// What gemm_bf16.c and gemm_f32.c share: the walk over tiles of MR = 8 rows x NR = 3 panels (24 zmm accumulators)
// of a range of panels, each tile's shape turned into constants so the kernel's microkernel unrolls and keeps its
// accumulators in registers. Three panels are also the run PackedMatrix.multiply hands out to a core.

// Panels of the run starting at panel p: 3, or what is left before panelEnd.
static inline int ck_run_panels(size_t p, size_t panelEnd) { return (int)(panelEnd - p < 3 ? panelEnd - p : 3); }

// Columns of the run's last panel that exist (1..16), for n output columns in all.
static inline size_t ck_run_valid(size_t p, int nr, size_t n) {
    size_t lastColumn = (p + (size_t)nr - 1) * 16;
    return n - lastColumn < 16 ? n - lastColumn : 16;
}

// Rows of the tile starting at row r: 8, or what is left of m.
static inline int ck_tile_rows(size_t m, size_t r) { return (int)(m - r < 8 ? m - r : 8); }

// MICRO(mr, nr, ...) with the runtime `mr` (1..8) and `nr` (1..3) in scope passed as literal constants.
#define CK_TILE_ROWS_CASES(MICRO, NR, ...)                                                                  \
    switch (mr) {                                                                                           \
    case 8: MICRO(8, NR, __VA_ARGS__); break;                                                               \
    case 7: MICRO(7, NR, __VA_ARGS__); break;                                                               \
    case 6: MICRO(6, NR, __VA_ARGS__); break;                                                               \
    case 5: MICRO(5, NR, __VA_ARGS__); break;                                                               \
    case 4: MICRO(4, NR, __VA_ARGS__); break;                                                               \
    case 3: MICRO(3, NR, __VA_ARGS__); break;                                                               \
    case 2: MICRO(2, NR, __VA_ARGS__); break;                                                               \
    default: MICRO(1, NR, __VA_ARGS__); break;                                                              \
    }
#define CK_TILE_DISPATCH(MICRO, ...)                                                                        \
    if (nr == 3) { CK_TILE_ROWS_CASES(MICRO, 3, __VA_ARGS__) }                                              \
    else if (nr == 2) { CK_TILE_ROWS_CASES(MICRO, 2, __VA_ARGS__) }                                         \
    else { CK_TILE_ROWS_CASES(MICRO, 1, __VA_ARGS__) }

// Every tile of y[:, 16 * panelBegin ..< min(n, 16 * panelEnd)] (m rows): for each run of nr <= 3 panels from
// panel p and each block of mr <= 8 rows from row r, MICRO(mr, nr, ...) with mr and nr constant. The arguments
// (...) may use p, r and valid (columns of the run's last panel that exist).
#define CK_FOR_EACH_TILE(m, n, panelBegin, panelEnd, MICRO, ...)                                           \
    for (size_t p = (panelBegin); p < (panelEnd); p += 3) {                                                 \
        int nr = ck_run_panels(p, (panelEnd));                                                              \
        size_t valid = ck_run_valid(p, nr, (n));                                                            \
        for (size_t r = 0; r < (m); r += 8) {                                                               \
            int mr = ck_tile_rows((m), r);                                                                  \
            CK_TILE_DISPATCH(MICRO, __VA_ARGS__)                                                            \
        }                                                                                                   \
    }

// Stores the mr x nr float32 accumulators `acc` (__m512 [8][3]) to y (row stride ldy), the last panel masked to
// `valid` columns. Expands inside an AVX-512 function.
#define CK_STORE_TILE(acc, mr, nr, y, ldy, valid)                                                           \
    do {                                                                                                    \
        __mmask16 last_ = (valid) >= 16 ? 0xffff : (__mmask16)((1u << (valid)) - 1);                        \
        for (int r_ = 0; r_ < (mr); r_++)                                                                   \
            for (int c_ = 0; c_ < (nr); c_++) {                                                             \
                float *out_ = (y) + r_ * (ldy) + 16 * c_;                                                   \
                if (c_ == (nr) - 1) _mm512_mask_storeu_ps(out_, last_, (acc)[r_][c_]);                      \
                else _mm512_storeu_ps(out_, (acc)[r_][c_]);                                                 \
            }                                                                                               \
    } while (0)

#endif
