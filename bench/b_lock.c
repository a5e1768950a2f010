#include "bench.h"
int bench_lock(void) { return 0; }
