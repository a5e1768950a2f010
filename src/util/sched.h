/*
 * sched.h - named schedule points for deterministic interleaving tests.
 *
 * sched_point("name") marks a place in the engine where a test may stop
 * a thread.  In a normal build it compiles to nothing.  In a build with
 * UDAX_SCHED_POINTS (the test libraries) a test can
 *   sched_arm("name")          make the next thread that reaches the
 *                              point stop there;
 *   sched_wait("name")         wait until a thread has stopped there;
 *   sched_release("name")      let it go on.
 * So "hold thread X at P, run thread Y to Q, release X" runs the same
 * interleaving every time.
 */
#ifndef UDAX_SCHED_H
#define UDAX_SCHED_H

#ifdef UDAX_SCHED_POINTS
void sched_point(const char *name);
#else
#define sched_point(name) do { } while (0)
#endif

void sched_arm(const char *name);
/* Returns 0 once a thread waits at @name, -1 after @timeout_ms. */
int sched_wait(const char *name, int timeout_ms);
void sched_release(const char *name);
void sched_reset(void);
/* Cross-process points: every process of the test calls this with the
 * same MAP_SHARED page (zeroed, 4 KiB) before it arms or reaches any. */
void sched_share(void *page);

#endif
