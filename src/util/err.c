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

void warn_once(atomic_int *done, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (atomic_exchange(done, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "udax: warning: %s\n", buf);
}
