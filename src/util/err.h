/* err.h - the per-thread detail message behind udax_last_error(). */
#ifndef UDAX_ERR_H
#define UDAX_ERR_H

/* Record a one-line explanation and return @err (a negative errno), so
 * callers can write `return set_error(-EINVAL, "...", ...)`. */
int set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error(void);

#endif
