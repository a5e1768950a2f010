/*
 * debug.h - assertions at the point where an invariant is relied on.
 *
 * UDAX_BUG_ON(cond) aborts with "file:line: cond" (and the locks this
 * thread holds) when @cond is true.  It is compiled in only in debug
 * builds (UDAX_DEBUG, set by CMake for CMAKE_BUILD_TYPE=Debug, which the
 * ASan and TSan runs use); in release builds the condition is not
 * evaluated, only type-checked.  The report is written with write(2)
 * from a fixed buffer: it may run inside the SIGSEGV fault handler.
 */
#ifndef UDAX_DEBUG_H
#define UDAX_DEBUG_H

#ifdef UDAX_DEBUG
void udax_bug(const char *file, int line, const char *cond) __attribute__((noreturn));
#define UDAX_BUG_ON(cond) \
	do { \
		if (__builtin_expect(!!(cond), 0)) \
			udax_bug(__FILE__, __LINE__, #cond); \
	} while (0)
#else
#define UDAX_BUG_ON(cond) do { (void)sizeof(!(cond)); } while (0)
#endif

#endif
