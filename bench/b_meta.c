#include "bench.h"
int bench_meta(void) { return 0; }
