/*
 * shoot.c - cross-process shootdown: mailboxes, the agent thread, and
 * acknowledgements.
 *
 * Only a process can change its own mappings (DESIGN.md: no system
 * call zaps or write-protects another address space's pages for a
 * devdax/fsdax mapping).  So each member runs an agent thread that
 * sleeps on its mailbox's futex word; a requester that must reach the
 * mappings of other processes (rule b's eviction of zero pages, the
 * invalidation before truncate or punch frees blocks, rule d's
 * write-protect-then-flush at fsync) posts one request per target and
 * waits for every acknowledgement.
 *
 * Protocol, per target T (T's mailbox lock serialises requesters):
 *   requester: lock T.mbox_lock; T.req = request; T.req_seq++; wake;
 *   agent:     sees req_seq != ack_seq; copies the request; runs it in
 *              its own process (rt->serve, dax/remote.c); ack_seq =
 *              req_seq; wake;
 *   requester: waits for ack_seq == its seq; unlock.
 * A requester posts to all its targets (in slot order, so two
 * requesters cannot deadlock on each other's mailboxes) before it
 * waits for any.  A target found dead while we wait is reaped and
 * counts as done: its mappings died with it (members.c flushes what
 * it may have dirtied).  A target that is alive but does not answer
 * (stopped with SIGSTOP, say) blocks the requester: a block may not be
 * freed while it may still be mapped.  After RT_STUCK_MS the requester
 * says so once on stderr and keeps waiting.
 *
 * Deadlock freedom: a requester never holds the journal lock or an
 * entry lock while it waits (dax.h); an agent takes only its own
 * process's entry locks, and their holders never wait for an agent.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/debug.h"

#define RT_STUCK_MS 2000

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *agent_main(void *arg)
{
	struct rt *rt = arg;
	struct rt_member *mb = &rt->members[rt->slot];
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	atomic_store(&mb->agent_ready, 1);
	for (;;) {
		uint32_t rq = atomic_load(&mb->req_seq);
		if (atomic_load(&rt->agent_quit)) {
			/* stopping: this process has no windows left (udax_unmount
			 * unmapped everything first), so a request that got in
			 * before agent_ready went down is answered as done */
			atomic_store(&mb->ack_seq, rq);
			rt_futex_wake(&mb->ack_seq);
			break;
		}
		if (rq == atomic_load(&mb->ack_seq)) {
			rt_futex_wait(&mb->req_seq, rq, 1000);
			continue;
		}
		struct rt_request r = mb->req;
		int res = rt->serve ? rt->serve(rt->serve_arg, &r) : 0;
		mb->req.result = res;
		atomic_store(&mb->ack_seq, rq);
		rt_futex_wake(&mb->ack_seq);
	}
	atomic_store(&mb->agent_ready, 0);
	return NULL;
}

int rt_agent_start(struct rt *rt)
{
	if (rt->fd < 0 || rt->agent_running)
		return 0;   /* a private region has nobody to answer */
	atomic_store(&rt->agent_quit, 0);
	int r = pthread_create(&rt->agent, NULL, agent_main, rt);
	if (r)
		return -r;
	rt->agent_running = 1;
	while (!atomic_load(&rt->members[rt->slot].agent_ready))
		usleep(50);
	return 0;
}

void rt_agent_stop(struct rt *rt)
{
	if (!rt->agent_running)
		return;
	struct rt_member *mb = &rt->members[rt->slot];
	/* no new request after this (requesters check it under the lock) */
	rt_mutex_lock(&mb->mbox_lock);
	atomic_store(&mb->agent_ready, 0);
	rt_mutex_unlock(&mb->mbox_lock);
	atomic_store(&rt->agent_quit, 1);
	atomic_fetch_add(&mb->req_seq, 0);
	rt_futex_wake(&mb->req_seq);
	pthread_join(rt->agent, NULL);
	rt->agent_running = 0;
}

static void record_latency(struct rt *rt, uint64_t ns)
{
	unsigned b = 0;
	if (ns >= 8) {
		unsigned lg = 63u - (unsigned)__builtin_clzll(ns);
		b = (lg - 2) * 8 + (unsigned)((ns >> (lg - 3)) & 7);
	}
	if (b >= RT_HIST)
		b = RT_HIST - 1;
	atomic_fetch_add(&rt->h->vol.shoot_hist[b], 1);
	atomic_fetch_add(&rt->h->vol.shoots, 1);
}

static uint64_t bucket_high(unsigned b)
{
	if (b < 8)
		return b + 1;
	unsigned lg = b / 8 + 2, sub = b % 8;
	return (1ull << lg) + ((uint64_t)(sub + 1) << (lg - 3));
}

void rt_shoot_latency(struct rt *rt, uint64_t *p50, uint64_t *p99, uint64_t *n)
{
	uint64_t total = atomic_load(&rt->h->vol.shoots), acc = 0;
	*p50 = *p99 = 0;
	*n = total;
	if (!total)
		return;
	for (unsigned b = 0; b < RT_HIST; b++) {
		acc += atomic_load(&rt->h->vol.shoot_hist[b]);
		if (!*p50 && acc * 2 >= total)
			*p50 = bucket_high(b);
		if (!*p99 && acc * 100 >= total * 99) {
			*p99 = bucket_high(b);
			break;
		}
	}
}

static int wait_ack(struct rt *rt, unsigned s, uint32_t seq)
{
	struct rt_member *mb = &rt->members[s];
	uint64_t t0 = mono_ns();
	int warned = 0;

	for (;;) {
		uint32_t a = atomic_load(&mb->ack_seq);
		if (a == seq)
			return mb->req.result;
		rt_futex_wait(&mb->ack_seq, a, 50);
		if (atomic_load(&mb->ack_seq) == seq)
			return mb->req.result;
		if (!rt_member_alive(rt, s)) {
			rt_reap_dead(rt);
			return 0;
		}
		if (!warned && mono_ns() - t0 > RT_STUCK_MS * 1000000ull) {
			warned = 1;
			char msg[200];
			int n = snprintf(msg, sizeof(msg),
			                 "udax: process %d (runtime member %u) has not answered a "
			                 "shootdown for %d s (stopped?); still waiting: a block may "
			                 "not be freed while it is mapped\n",
			                 (int)mb->pid, s, RT_STUCK_MS / 1000);
			(void)!write(2, msg, n > 0 ? (size_t)n : 0);
		}
	}
}

int rt_shoot(struct rt *rt, uint64_t mask, const struct rt_request *rq)
{
	uint32_t seqs[RT_MEMBERS];
	uint64_t posted = 0;
	int err = 0;

	if (rt->fd < 0)
		return 0;
	mask &= ~rt_me_bit(rt);
	if (!mask)
		return 0;
	uint64_t t0 = mono_ns();
	for (unsigned s = 0; s < RT_MEMBERS; s++) {
		if (!(mask >> s & 1))
			continue;
		struct rt_member *mb = &rt->members[s];
		if (atomic_load(&mb->state) != RT_ATTACHED)
			continue;
		rt_mutex_lock(&mb->mbox_lock);
		if (atomic_load(&mb->state) != RT_ATTACHED || !atomic_load(&mb->agent_ready)) {
			rt_mutex_unlock(&mb->mbox_lock);
			continue;
		}
		mb->req = *rq;
		mb->req.result = 0;
		seqs[s] = atomic_load(&mb->req_seq) + 1;
		atomic_store(&mb->req_seq, seqs[s]);
		rt_futex_wake(&mb->req_seq);
		posted |= 1ull << s;
	}
	for (unsigned s = 0; s < RT_MEMBERS; s++) {
		if (!(posted >> s & 1))
			continue;
		int r = wait_ack(rt, s, seqs[s]);
		if (r && !err)
			err = r;
		rt_mutex_unlock(&rt->members[s].mbox_lock);
	}
	if (posted)
		record_latency(rt, mono_ns() - t0);
	return err;
}
