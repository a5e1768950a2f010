#include "bench.h"
int bench_fsync(void) { return 0; }
