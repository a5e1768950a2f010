/* err.h - the per-thread detail message behind udax_last_error(). */
#ifndef UDAX_ERR_H
#define UDAX_ERR_H

/* Record a one-line explanation and return @err (a negative errno), so
 * callers can write `return set_error(-EINVAL, "...", ...)`. */
int set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error(void);

#include <stdatomic.h>
/* Print "udax: warning: ..." on stderr, the first time only (per @done
 * flag, per process): for conditions that do not stop a call but that a
 * user must hear of, such as a pool file other users can read. */
void warn_once(atomic_int *done, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
