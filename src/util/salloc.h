/*
 * salloc.h - memory the page-fault path may allocate.
 *
 * udax serves page faults from a SIGSEGV handler that may interrupt
 * malloc (DESIGN.md), so everything the fault path allocates comes from
 * here instead: fixed-size classes (32 B to 4 KiB, powers of two) each
 * a free list over chunks taken from the kernel with mmap, which is a
 * system call and safe anywhere; larger requests are mmap'ed whole.
 * Chunks are never returned (freed objects go back on their list).
 * Each class list is under its own mutex, held for a few instructions
 * and never by application code; a signal that interrupts udax itself
 * inside salloc and then faults on a udax mapping is the documented
 * limit of src/vm/trap.c.  The caller passes the size back to sfree.
 */
#ifndef UDAX_SALLOC_H
#define UDAX_SALLOC_H

#include <stddef.h>

void *salloc(size_t n);          /* zeroed; NULL when mmap fails */
void sfree(void *p, size_t n);   /* @n as given to salloc; NULL is fine */

#endif
