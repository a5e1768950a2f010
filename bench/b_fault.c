#include "bench.h"
int bench_fault(void) { return 0; }
