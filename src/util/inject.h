/*
 * inject.h - named failure points for tests of error paths, in the
 * manner of SQLite's replaceable system-call table.
 *
 * fail_point("name") marks a place where an operation can fail (a
 * commit, an allocation).  In a normal build it is the constant 0 and
 * costs nothing.  In a build with UDAX_SCHED_POINTS (the test libraries
 * that also carry the schedule points of sched.h) a test can
 *   fail_arm("name", skip)   make the point fail once, after letting
 *                            @skip arrivals through;
 *   fail_hits("name")        how many armed failures were delivered;
 *   fail_reset()             disarm everything.
 * The caller of fail_point decides what failing means (-EIO from a
 * commit, -ENOMEM from an allocation) and must take the same path a
 * real failure would.
 */
#ifndef UDAX_INJECT_H
#define UDAX_INJECT_H

#ifdef UDAX_SCHED_POINTS
int fail_point(const char *name);
#else
#define fail_point(name) 0
#endif

void fail_arm(const char *name, int skip);
int fail_hits(const char *name);
void fail_reset(void);

#endif
