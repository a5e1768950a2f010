/*
 * test_lockdep.c - the debug build's checker must really check: a child
 * process takes locks in the wrong order (or unlocks what it does not
 * hold) on purpose, and must die of SIGABRT with both call sites on
 * stderr.  In a release build (no UDAX_DEBUG) there is nothing to test:
 * the program says so and exits 77 (skipped).
 */
#include <stdio.h>

#ifdef UDAX_DEBUG

#include "t.h"

#include <signal.h>
#include <sys/wait.h>

#include "dax/dax.h"
#include "util/debug.h"
#include "util/lockdep.h"

/* Run @fn in a child with stderr captured into @out; returns the wait
 * status. */
static int in_child(void (*fn)(void), char *out, size_t cap)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		fn();
		_exit(0);    /* the checker did nothing: the parent fails us */
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < cap - 1 && (r = read(p[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

static int died_of_abort(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

/* The child announces the lines of its two acquisitions first
 * ("expect A B"); both must be named in the report. */
#define EXPECT_NEXT_TWO() do { fprintf(stderr, "expect %d %d\n", __LINE__ + 1, __LINE__ + 2); \
	fflush(stderr); } while (0)

static int expected(const char *out, int *a, int *b)
{
	return sscanf(out, "expect %d %d", a, b) == 2;
}

/* "test_lockdep.c:LINE" appears in @s */
static int has_site(const char *s, int line)
{
	char want[64];
	snprintf(want, sizeof(want), "test_lockdep.c:%d", line);
	return strstr(s, want) != NULL;
}

static pthread_mutex_t m_outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m_inner = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void wrong_order(void)
{
	/* tx_lock is taken inside ip->rw, never around it */
	EXPECT_NEXT_TWO();
	ul_mutex_lock(&m_inner, UL_TX);
	ul_rw_wrlock(&rw, UL_INODE_RW);
}

static void test_wrong_order_aborts(void)
{
	static char out[8192];
	int st = in_child(wrong_order, out, sizeof(out));
	int line_a = 0, line_b = 0;
	CHECK(expected(out, &line_a, &line_b));
	CHECK(died_of_abort(st));
	CHECK(strstr(out, "lock order violation") != NULL);
	CHECK(strstr(out, "meta->tx_lock") != NULL);
	CHECK(strstr(out, "ip->rw") != NULL);
	CHECK(has_site(out, line_a));
	CHECK(has_site(out, line_b));
	if (t_cur_failed)
		fprintf(stderr, "child said:\n%s", out);
}

static void right_order(void)
{
	ul_mutex_lock(&m_outer, UL_NS);
	ul_rw_wrlock(&rw, UL_INODE_RW);
	ul_mutex_lock(&m_inner, UL_TX);
	UDAX_BUG_ON(!ul_held(&m_inner) || !ul_held_excl(&rw) || ul_depth() != 3);
	ul_mutex_unlock(&m_inner);
	ul_rw_unlock(&rw);
	ul_mutex_unlock(&m_outer);
	UDAX_BUG_ON(ul_depth() != 0);
	_exit(7);
}

static void test_right_order_passes(void)
{
	static char out[8192];
	int st = in_child(right_order, out, sizeof(out));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	CHECK_EQ(strlen(out), 0);
	if (t_cur_failed)
		fprintf(stderr, "child said:\n%s", out);
}

static void recursive(void)
{
	EXPECT_NEXT_TWO();
	ul_rw_rdlock(&rw, UL_INVAL);
	ul_rw_rdlock(&rw, UL_INVAL);
}

static void test_recursion_aborts(void)
{
	static char out[8192];
	int st = in_child(recursive, out, sizeof(out));
	int line_rec1 = 0, line_rec2 = 0;
	CHECK(expected(out, &line_rec1, &line_rec2));
	CHECK(died_of_abort(st));
	CHECK(strstr(out, "recursive locking") != NULL);
	CHECK(has_site(out, line_rec1));
	CHECK(has_site(out, line_rec2));
	if (t_cur_failed)
		fprintf(stderr, "child said:\n%s", out);
}

static void unlock_unheld(void)
{
	ul_mutex_unlock(&m_outer);
}

static void test_unlock_unheld_aborts(void)
{
	static char out[8192];
	int st = in_child(unlock_unheld, out, sizeof(out));
	CHECK(died_of_abort(st));
	CHECK(strstr(out, "does not hold") != NULL);
	if (t_cur_failed)
		fprintf(stderr, "child said:\n%s", out);
}

/* A dax inode with an index and nothing else (no pool needed). */
static struct dax_inode *lone_dax_inode(void)
{
	static struct meta m;
	static struct inode ip;
	return dax_inode_get(&m, &ip, -1, 0);
}

static void unlock_unlocked_entry(void)
{
	struct dax_inode *di = lone_dax_inode();
	entry_unlock(di, 5, 0);
}

static void test_entry_unlock_unlocked_aborts(void)
{
	static char out[8192];
	int st = in_child(unlock_unlocked_entry, out, sizeof(out));
	CHECK(died_of_abort(st));
	CHECK(strstr(out, "udax BUG at") != NULL);
	CHECK(strstr(out, "entry.c:") != NULL);
	CHECK(strstr(out, "E_LOCKED") != NULL);
	if (t_cur_failed)
		fprintf(stderr, "child said:\n%s", out);
}

/* entry lock -> tx_lock is the order (a fault that allocates); the
 * other way round must be caught, with the entry lock's call site being
 * the caller's, not entry.c's */
static void entry_after_tx(void)
{
	struct dax_inode *di = lone_dax_inode();
	uint64_t e, at;
	if (entry_lock(di, 1, 0, &e, &at) != 0)
		_exit(3);
	ul_mutex_lock(&m_inner, UL_TX);      /* fine */
	ul_mutex_unlock(&m_inner);
	entry_unlock(di, at, e);
	EXPECT_NEXT_TWO();
	ul_mutex_lock(&m_inner, UL_TX);
	entry_lock(di, 2, 0, &e, &at);
}

static void test_entry_lock_after_tx_aborts(void)
{
	static char out[8192];
	int st = in_child(entry_after_tx, out, sizeof(out));
	int line_tx = 0, line_entry = 0;
	CHECK(expected(out, &line_tx, &line_entry));
	CHECK(died_of_abort(st));
	CHECK(strstr(out, "lock order violation") != NULL);
	CHECK(strstr(out, "taking entry lock") != NULL);
	CHECK(has_site(out, line_tx));
	CHECK(has_site(out, line_entry));
	if (t_cur_failed)
		fprintf(stderr, "child said:\n%s", out);
}

/* Several entry locks at once (writeback runs, write_lock=range) are
 * one class held many times; all must be released. */
static void many_entries(void)
{
	struct dax_inode *di = lone_dax_inode();
	uint64_t e[100], at[100];
	for (int i = 0; i < 100; i++)
		if (entry_lock(di, (uint64_t)i, 0, &e[i], &at[i]) != 0)
			_exit(3);
	UDAX_BUG_ON(!ul_class_held(UL_ENTRY) || ul_depth() != 1);
	ul_mutex_lock(&m_inner, UL_TX);
	ul_mutex_unlock(&m_inner);
	for (int i = 0; i < 100; i++)
		entry_unlock(di, at[i], e[i]);
	UDAX_BUG_ON(ul_class_held(UL_ENTRY) || ul_depth() != 0);
	_exit(7);
}

static void test_many_entry_locks(void)
{
	static char out[8192];
	int st = in_child(many_entries, out, sizeof(out));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	CHECK_EQ(strlen(out), 0);
	if (t_cur_failed)
		fprintf(stderr, "child said:\n%s", out);
}

static void bug_on(void)
{
	int x = 1;
	UDAX_BUG_ON(x == 1);
}

static void test_bug_on_aborts(void)
{
	static char out[8192];
	int st = in_child(bug_on, out, sizeof(out));
	CHECK(died_of_abort(st));
	CHECK(strstr(out, "udax BUG at") != NULL);
	CHECK(strstr(out, "x == 1") != NULL);
	CHECK(strstr(out, "test_lockdep.c:") != NULL);
}

int main(void)
{
	RUN(test_wrong_order_aborts);
	RUN(test_right_order_passes);
	RUN(test_recursion_aborts);
	RUN(test_unlock_unheld_aborts);
	RUN(test_entry_unlock_unlocked_aborts);
	RUN(test_entry_lock_after_tx_aborts);
	RUN(test_many_entry_locks);
	RUN(test_bug_on_aborts);
	return t_summary();
}

#else

int main(void)
{
	printf("skipped: the lock-order checker and UDAX_BUG_ON are compiled only in "
	       "Debug builds (CMAKE_BUILD_TYPE=Debug)\n");
	return 77;
}

#endif
