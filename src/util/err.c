/* err.c - per-thread error detail for udax_last_error(). */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

#include "udax.h"

static _Thread_local char last_error[512];

int set_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

void clear_error(void)
{
	last_error[0] = 0;
}

const char *udax_last_error(void)
{
	return last_error;
}
