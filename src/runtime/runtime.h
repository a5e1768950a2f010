/*
 * runtime.h - the shared runtime region: what every process that mounts
 * one pool shares in DRAM (docs/dax.md, "The runtime region").
 *
 * A pool mounted by several processes has one region: a file under
 * /dev/shm named from the pool's uuid and the pool file's identity,
 * with the pool's owner and mode, mapped MAP_SHARED by every
 * participant.  It holds only volatile state; nothing in it is needed
 * after a power cut, and nothing in the pool depends on it (lock words
 * never go to the pool: a lock image saved with a dead owner would
 * block forever).  Private and checking mounts get the same layout in
 * anonymous memory, so the code has one path.
 *
 * Layout (offsets from the start; every part page aligned):
 *   struct rt_header      magic, version, pool uuid, pool file identity,
 *                         the pool's mount count when the region was
 *                         built (its generation), geometry, offsets, a
 *                         CRC over all of that; then the volume's shared
 *                         locks and counters (struct rt_volume)
 *   rt_member[RT_MEMBERS] the participant table, one slot per process
 *   rt_inode[ninodes+1]   per-inode shared state
 *   bits, group_free      the block allocator's in-memory state
 *   ibits                 the inode allocator's bitmap
 *   sched area            cross-process schedule points (tests)
 *
 * INVARIANTS
 *   R1. A region is trusted only when its header's CRC, magic, version,
 *       uuid, pool identity, generation and geometry all match the pool
 *       being mounted.  A region that does not match is rebuilt when no
 *       process is attached, and refused (EBUSY, with the reason) when
 *       one is.
 *   R2. Liveness is an fcntl write lock on byte RT_LOCK_MEMBER0 + slot
 *       of the region file, held for as long as the process is
 *       attached; the kernel drops it when the process dies, so a pid
 *       that is reused never looks alive.  Byte RT_LOCK_ATTACH
 *       serialises attach and detach; every attached process holds a
 *       read lock on byte RT_LOCK_ALIVE, so "nobody else is attached"
 *       is a successful write lock there.
 *   R3. Shared locks name their holders by member slot (never pid or a
 *       pointer): the reaper of a dead member (members.c) clears that
 *       slot's bits from every shared lock and mask.
 *   R4. At most RT_MEMBERS processes are attached at once.
 */
#ifndef UDAX_RUNTIME_H
#define UDAX_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#define RT_MAGIC 0x4e52584455ull   /* "UDXRN" */
#define RT_VERSION 2u
#define RT_MEMBERS 64u             /* bits of a uint64_t mask */
#define RT_HIST 512u               /* latency buckets: 8 per power of two */

/* fcntl lock bytes of the region file */
#define RT_LOCK_ATTACH 0
#define RT_LOCK_ALIVE 1
#define RT_LOCK_MEMBER0 2

/* ---- shared locks (lock.c) ---- */

/*
 * A reader-writer lock between processes: holders are member slots.
 * Readers set their slot's bit in @readers; a writer puts slot + 1 in
 * @writer and waits until no reader bit is set.  Within a process the
 * lock is combined with a local rwlock (struct plock), so the shared
 * word sees each process at most once.  @seq is the futex word every
 * waiter sleeps on (shared futex: the region is MAP_SHARED).
 */
struct xlock {
	_Atomic uint32_t seq;
	_Atomic uint32_t writer;    /* slot + 1, or 0 */
	_Atomic uint64_t readers;   /* bit per slot */
	_Atomic uint32_t waiters;   /* sleepers on @seq: releases wake only then */
	uint32_t pad;
};

struct rt;

/*
 * struct plock: a reader-writer lock for the threads of every process:
 * a local rwlock for the threads of this one, and the shared word @x,
 * which this process holds shared while any of its threads does (the
 * first takes it, under @m; the last drops it) and exclusively while
 * one of its threads holds @local exclusively.  @on_acquire runs after
 * every acquisition (the meta layer revalidates the inode's cache).
 */
struct plock {
	pthread_rwlock_t local;
	pthread_mutex_t m;
	int nshared;
	_Atomic int excl;
	struct rt *rt;
	struct xlock *x;
	void (*on_acquire)(void *a, void *b);
	void *a, *b;
};
void pl_init(struct plock *l, struct rt *rt, struct xlock *x,
             void (*on_acquire)(void *, void *), void *a, void *b);
void pl_destroy(struct plock *l);
int pl_rdlock_(struct plock *l, int cls, int sub, const char *file, int line);
int pl_wrlock_(struct plock *l, int cls, int sub, const char *file, int line);
void pl_unlock_(struct plock *l, const char *file, int line);
#define pl_rdlock(l, cls) pl_rdlock_((l), (cls), 0, __FILE__, __LINE__)
#define pl_wrlock(l, cls) pl_wrlock_((l), (cls), 0, __FILE__, __LINE__)
#define pl_wrlock_nested(l, cls, sub) pl_wrlock_((l), (cls), (sub), __FILE__, __LINE__)
#define pl_unlock(l) pl_unlock_((l), __FILE__, __LINE__)

/* Robust, process-shared mutex: returns 1 if the previous owner died
 * holding it (the lock is now held and marked consistent), else 0. */
int rt_mutex_init(pthread_mutex_t *m);
int rt_mutex_lock(pthread_mutex_t *m);
void rt_mutex_unlock(pthread_mutex_t *m);

/* The same, recorded by the lock-order checker as class @cls (debug
 * builds): the journal and namespace locks. */
int rt_mutex_lock_checked(pthread_mutex_t *m, int cls, const char *file, int line);
void rt_mutex_unlock_checked(pthread_mutex_t *m, const char *file, int line);

void xl_lock_shared(struct rt *rt, struct xlock *x);
void xl_unlock_shared(struct rt *rt, struct xlock *x);
void xl_lock_excl(struct rt *rt, struct xlock *x);
void xl_unlock_excl(struct rt *rt, struct xlock *x);
/* The reaper: forget dead member @slot in @x. */
void xl_forget(struct xlock *x, unsigned slot);

/* Wait on futex word @w while it equals @val, at most @ms milliseconds
 * (shared futex). */
void rt_futex_wait(_Atomic uint32_t *w, uint32_t val, int ms);
void rt_futex_wake(_Atomic uint32_t *w);

/* ---- the participant table (members.c) ---- */

enum rt_op { RT_OP_NONE, RT_OP_EVICT_ZERO, RT_OP_INVALIDATE, RT_OP_WRITEBACK,
             RT_OP_DROP_CLEAN };

/* One request in a member's mailbox (shoot.c). */
struct rt_request {
	uint32_t op;                /* enum rt_op */
	uint32_t flags;             /* RT_OP_INVALIDATE: even_cows */
	uint64_t ino;
	uint64_t from, to;          /* page indices [from, to) */
	int32_t result;             /* the target's result (0 or -errno) */
	uint32_t pad;
};

struct rt_member {
	_Atomic uint32_t state;     /* RT_FREE, RT_ATTACHED */
	uint32_t rw;                /* mounted read-write */
	int32_t pid;
	uint32_t pad0;
	uint64_t start_time;        /* /proc/PID/stat field 22, for reports */
	/* the mailbox: requesters serialise on @mbox_lock, post @req, bump
	 * @req_seq and wake; the agent executes it, sets @ack_seq =
	 * @req_seq and wakes */
	pthread_mutex_t mbox_lock;
	struct rt_request req;
	_Atomic uint32_t req_seq;
	_Atomic uint32_t ack_seq;
	_Atomic uint32_t agent_ready;
	uint32_t pad1;
	uint64_t pad2[2];
};
#define RT_FREE 0u
#define RT_ATTACHED 1u

/* ---- per-inode shared state ---- */
struct rt_inode {
	/* bumped (after checkpoint, under the tx lock) by every commit that
	 * changes the inode: its dinode, extent map or directory blocks.  A
	 * process's cached copy is good while its recorded gen matches. */
	_Atomic uint32_t gen;
	_Atomic uint32_t flags;     /* RT_FLUSH_ALL */
	_Atomic uint64_t open_by;   /* members holding it open */
	_Atomic uint64_t mapped_by; /* members with windows on it */
	uint64_t pad2;
	struct xlock rw;            /* inode lock (ip->rw) */
	struct xlock inval;         /* invalidate lock (di->inval) */
};

/* a member that had the inode mapped died: the next fsync flushes the
 * whole file (its stores are in the pool but maybe not persistent) */
#define RT_FLUSH_ALL 0x1u

/* ---- the volume's shared counters and locks ---- */
struct rt_volume {
	pthread_mutex_t tx_lock;    /* journal + allocators */
	pthread_mutex_t ns_lock;    /* the namespace */
	pthread_mutex_t reap_lock;  /* one reaper at a time */
	uint64_t jseq;
	uint64_t free_blocks;
	uint64_t free_inodes;
	uint64_t icursor;
	uint32_t generation;        /* inode generation counter */
	uint32_t shadow;            /* members use the shadow backend */
	/* bumped by every commit (after the per-inode gens) */
	_Atomic uint64_t commits;
	/* bumped when every cached inode must be dropped (a dead member's
	 * transaction was recovered) */
	_Atomic uint64_t epoch;
	/* odd while a commit copies blocks home (a reader outside tx_lock
	 * that sees it change reads again) */
	_Atomic uint64_t ckpt_seq;
	_Atomic uint32_t nrw;       /* read-write members attached */
	/* set by a process that keeps tx_lock at exit with nothing half
	 * done (meta_seal_for_exit): its death needs no recovery */
	_Atomic uint32_t exit_sealed;
	/* shootdown latency, nanoseconds, log2 buckets (shoot.c) */
	_Atomic uint64_t shoot_hist[RT_HIST];
	_Atomic uint64_t shoots;
};

struct rt_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_crc;        /* CRC-32C of bytes [0, crc_len) with this 0 */
	uint32_t crc_len;
	uint32_t members;
	uint8_t uuid[16];
	uint64_t pool_dev, pool_ino;
	uint64_t generation;        /* the pool's mount count at build */
	uint64_t nblocks, ninodes, ngroups;
	uint64_t size;              /* bytes of the region */
	uint64_t off_members, off_inodes, off_bits, off_gfree, off_ibits, off_sched;
	uint64_t sched_len;
	/* --- not covered by the CRC --- */
	_Atomic uint32_t ready;     /* built completely */
	uint32_t pad;
	struct rt_volume vol;
};

/* A process's handle on its region. */
struct rt {
	char *base;
	uint64_t size;
	int fd;                     /* the region file; -1 for a private region */
	int slot;                   /* this process's member slot */
	int builder;                /* this process built the region */
	char path[128];
	struct rt_header *h;
	struct rt_member *members;
	struct rt_inode *inodes;
	uint64_t ninodes;
	uint64_t *bits;
	uint32_t *group_free;
	uint64_t *ibits;
	void *sched;
	pthread_t agent;
	int agent_running;
	_Atomic int agent_quit;
	/* executes one request in this process (set by the dax layer) */
	int (*serve)(void *arg, const struct rt_request *rq);
	void *serve_arg;
	_Atomic uint32_t warned_stuck;
};

/* region.c */
struct rt_geometry {
	const uint8_t *uuid;
	uint64_t pool_dev, pool_ino;
	uint64_t generation;        /* the pool's mount count */
	uint64_t nblocks, ninodes, ngroups;
	mode_t mode;                /* the pool file's */
	uid_t uid;
	gid_t gid;
	int shadow;
	/* the pool's mount count, read under the attach lock (a builder
	 * may have changed it while this process waited) */
	uint64_t (*read_generation)(void *arg);
	void *arg;
};
/* Attach to the region of the pool described by @g, building it when
 * no process is attached (rt->builder is then set and the caller must
 * fill the shared state and call rt_ready()).  @private_only: an
 * anonymous region for this process alone.  0 or -errno (message set). */
int rt_attach(struct rt *rt, const struct rt_geometry *g, int private_only, int rw);
void rt_ready(struct rt *rt);
/* The builder bumped the pool's mount count: the region's generation. */
void rt_set_generation(struct rt *rt, uint64_t gen);
/* Leave; returns 1 when this was the last member attached (the caller
 * then marked the pool clean), else 0.  @last_cb runs while no other
 * member can attach, when this is the last one. */
int rt_detach(struct rt *rt, void (*last_cb)(void *), void *arg);
/* The region file name for a pool (for messages and tests). */
void rt_region_path(char *out, size_t n, const uint8_t *uuid, uint64_t dev, uint64_t ino);
static inline struct rt_inode *rt_inode(struct rt *rt, uint64_t ino)
{
	return ino <= rt->ninodes ? &rt->inodes[ino] : NULL;
}

/* members.c */
int rt_member_claim(struct rt *rt, int rw);
void rt_member_release(struct rt *rt);
int rt_member_alive(struct rt *rt, unsigned slot);
/* Reap every member whose process is gone (0: none found). */
int rt_reap_dead(struct rt *rt);
/* Members attached, this one included. */
unsigned rt_members_attached(struct rt *rt);

/* shoot.c */
int rt_agent_start(struct rt *rt);
void rt_agent_stop(struct rt *rt);
/* Run @rq in every member of @mask but this one, wait for all; the
 * first error a target returns.  Dead targets count as done. */
int rt_shoot(struct rt *rt, uint64_t mask, const struct rt_request *rq);
/* p50 / p99 shootdown latency in ns (0 if none), and the count. */
void rt_shoot_latency(struct rt *rt, uint64_t *p50, uint64_t *p99, uint64_t *n);

static inline uint64_t rt_me_bit(const struct rt *rt)
{
	return 1ull << rt->slot;
}

#endif
