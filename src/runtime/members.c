/*
 * members.c - the participant table: claiming a slot, liveness, and
 * reaping a member whose process died.
 *
 * Liveness (runtime.h R2): a member holds an fcntl write lock on byte
 * RT_LOCK_MEMBER0 + slot of the region file.  fcntl record locks belong
 * to the process, are not inherited by fork() and are dropped by the
 * kernel when the process dies, so "is the byte locked by someone?"
 * (F_GETLK) answers "is the member alive?" without trusting a pid.
 *
 * Reaping dead member S (under vol.reap_lock, once):
 *   1. every shared lock forgets S (xl_forget): its invalidate and inode
 *      locks, shared or exclusive, are released;
 *   2. S's open and mapping bits are cleared; every inode S had mapped
 *      is marked RT_FLUSH_ALL, so the next fsync of it (by anyone)
 *      flushes the whole file: S may have died with dirty pages no
 *      other process knows of (its stores are in the pool, but maybe
 *      not yet in the persistence domain).  The reaper may run inside
 *      any lock wait, so it takes no lock but reap_lock;
 *   3. the slot is freed.
 * What S held among the robust mutexes (the journal, the namespace, a
 * mailbox) is recovered by their next locker (lock.c, journal.c); entry
 * locks and mappings were S's own and died with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/debug.h"

static int byte_lock(int fd, int cmd, short type, off_t at)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1 };
	return fcntl(fd, cmd, &fl);
}

int rt_member_alive(struct rt *rt, unsigned slot)
{
	if (rt->fd < 0)
		return (int)slot == rt->slot;
	if ((int)slot == rt->slot)
		return 1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	                    .l_start = RT_LOCK_MEMBER0 + slot, .l_len = 1 };
	if (fcntl(rt->fd, F_GETLK, &fl) < 0)
		return 1;   /* cannot tell: assume alive, never reap a live one */
	return fl.l_type != F_UNLCK;
}

static uint64_t start_time(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *s = strrchr(buf, ')');
	unsigned long long v = 0;
	/* fields after the command: state is field 3, starttime field 22 */
	if (s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
	                       "%*d %*d %*d %llu", &v) == 1)
		return v;
	return 0;
}

static void reap_slot(struct rt *rt, unsigned s)
{
	struct rt_member *mb = &rt->members[s];
	uint64_t bit = 1ull << s;

	for (uint64_t ino = 0; ino <= rt->ninodes; ino++) {
		struct rt_inode *ri = &rt->inodes[ino];
		if (atomic_load(&ri->rw.readers) & bit || atomic_load(&ri->rw.writer) == s + 1)
			xl_forget(&ri->rw, s);
		if (atomic_load(&ri->inval.readers) & bit || atomic_load(&ri->inval.writer) == s + 1)
			xl_forget(&ri->inval, s);
		if (atomic_load(&ri->open_by) & bit)
			atomic_fetch_and(&ri->open_by, ~bit);
		if (atomic_load(&ri->mapped_by) & bit) {
			atomic_fetch_and(&ri->mapped_by, ~bit);
			atomic_fetch_or(&ri->flags, RT_FLUSH_ALL);
		}
	}
	if (mb->rw)
		atomic_fetch_sub(&rt->h->vol.nrw, 1);
	/* a requester waiting for this member's acknowledgement sees it dead */
	atomic_store(&mb->ack_seq, atomic_load(&mb->req_seq));
	rt_futex_wake(&mb->ack_seq);
	mb->pid = 0;
	atomic_store(&mb->state, RT_FREE);
}

int rt_reap_dead(struct rt *rt)
{
	int n = 0;

	if (rt->fd < 0)
		return 0;
	for (unsigned s = 0; s < RT_MEMBERS; s++) {
		struct rt_member *mb = &rt->members[s];
		if (atomic_load(&mb->state) != RT_ATTACHED || rt_member_alive(rt, s))
			continue;
		rt_mutex_lock(&rt->h->vol.reap_lock);
		/* looked again under the lock: another reaper may have been first,
		 * or a new process may have claimed the slot */
		if (atomic_load(&mb->state) == RT_ATTACHED && !rt_member_alive(rt, s)) {
			reap_slot(rt, s);
			n++;
		}
		rt_mutex_unlock(&rt->h->vol.reap_lock);
	}
	return n;
}

int rt_member_claim(struct rt *rt, int rw)
{
	if (rt->fd < 0) {
		rt->slot = 0;
		struct rt_member *mb = &rt->members[0];
		mb->pid = getpid();
		mb->rw = (uint32_t)rw;
		atomic_store(&mb->state, RT_ATTACHED);
		if (rw)
			atomic_fetch_add(&rt->h->vol.nrw, 1);
		return 0;
	}
	for (unsigned s = 0; s < RT_MEMBERS; s++) {
		if (byte_lock(rt->fd, F_SETLK, F_WRLCK, RT_LOCK_MEMBER0 + s) < 0)
			continue;   /* a live member has it */
		struct rt_member *mb = &rt->members[s];
		rt->slot = (int)s;
		if (atomic_load(&mb->state) == RT_ATTACHED) {
			/* its process died without detaching: reap it first */
			rt_mutex_lock(&rt->h->vol.reap_lock);
			if (atomic_load(&mb->state) == RT_ATTACHED)
				reap_slot(rt, s);
			rt_mutex_unlock(&rt->h->vol.reap_lock);
		}
		mb->pid = getpid();
		mb->start_time = start_time(mb->pid);
		mb->rw = (uint32_t)rw;
		atomic_store(&mb->agent_ready, 0);
		atomic_store(&mb->ack_seq, atomic_load(&mb->req_seq));
		if (rw)
			atomic_fetch_add(&rt->h->vol.nrw, 1);
		atomic_store(&mb->state, RT_ATTACHED);
		return 0;
	}
	return -EUSERS;
}

void rt_member_release(struct rt *rt)
{
	if (rt->slot < 0)
		return;
	struct rt_member *mb = &rt->members[rt->slot];
	uint64_t bit = rt_me_bit(rt);
	/* nothing of ours may stay behind in the shared masks */
	for (uint64_t ino = 0; ino <= rt->ninodes; ino++) {
		struct rt_inode *ri = &rt->inodes[ino];
		if (atomic_load(&ri->open_by) & bit)
			atomic_fetch_and(&ri->open_by, ~bit);
		if (atomic_load(&ri->mapped_by) & bit)
			atomic_fetch_and(&ri->mapped_by, ~bit);
	}
	if (mb->rw)
		atomic_fetch_sub(&rt->h->vol.nrw, 1);
	mb->pid = 0;
	atomic_store(&mb->state, RT_FREE);
	if (rt->fd >= 0)
		byte_lock(rt->fd, F_SETLK, F_UNLCK, RT_LOCK_MEMBER0 + rt->slot);
	rt->slot = -1;
}

unsigned rt_members_attached(struct rt *rt)
{
	unsigned n = 0;
	for (unsigned s = 0; s < RT_MEMBERS; s++)
		if (atomic_load(&rt->members[s].state) == RT_ATTACHED)
			n++;
	return n;
}
