#include "CKernels.h"

// __builtin_cpu_supports also checks that the OS saves the AVX-512 register state (XGETBV), not only CPUID.
int ck_cpu_has_avx512f(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

int ck_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
#else
    return 0;
#endif
}

int ck_cpu_has_avx512bf16(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__clang__) && __clang_major__ >= 16
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") ? 1 : 0;
#else
    return 0;
#endif
}
