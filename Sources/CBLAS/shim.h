// Debian's libopenblas-dev: the pkg-config include path points at the pthread variant's cblas.h,
// which also declares openblas_set_num_threads / openblas_get_corename.
#include <cblas.h>
