/*
 * udax.h - the public interface of udax, a user-space DAX file system.
 *
 * udax keeps files in a memory-mapped pool of persistent or CXL memory
 * (a devdax device, a file on an fsdax file system, or a DRAM-backed
 * file that emulates one).  Reads and writes copy straight between the
 * caller's buffer and the pool with cache-flushing stores; there is no
 * page cache and no system call on the data path.
 *
 * Conventions, for every call below:
 *   - A call that can fail returns a negative errno value (-ENOENT,
 *     -ENOSPC, ...) and sets nothing else; errno is left untouched.
 *   - A udax file descriptor is a small non-negative integer private to
 *     its mounted file system (struct udax_fs); it is not a kernel fd.
 *   - Every call is thread-safe.  Calls on different files proceed in
 *     parallel; writers of one file are serialised, readers are not.
 *   - Paths are absolute within the pool ("/a/b"); "." and ".." are
 *     resolved lexically and may not climb above "/".  A component is
 *     at most UDAX_NAME_MAX bytes, a path at most UDAX_PATH_MAX.
 *
 * Durability (see README "Guarantees"):
 *   - Data written by udax_pwrite()/udax_write() is in the persistence
 *     domain when the call returns.
 *   - Metadata (allocation, sizes, names) is committed through the
 *     metadata journal; it is durable at udax_fsync() at the latest.
 *     (Today every namespace or allocation change commits before its
 *     call returns; only timestamps of pure overwrites wait for fsync,
 *     or commit at once on O_SYNC/O_DSYNC files.)
 *   - After a crash at any instant, mounting replays the journal and
 *     yields a consistent file system that udax_fsck() finds clean.
 */
#ifndef UDAX_H
#define UDAX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h> /* struct timespec (udax_utimens) */

#ifdef __cplusplus
extern "C" {
#endif

/* Only these calls are exported from the shared libraries: the rest of
 * udax is built hidden, so it can never take the place of a program's
 * own function of the same name (libudax-preload.so is loaded first). */
#pragma GCC visibility push(default)

#define UDAX_VERSION_STRING "0.1.0"

#define UDAX_BLOCK_SIZE 4096u
#define UDAX_NAME_MAX 255
#define UDAX_PATH_MAX 4096
/* Smallest pool udax_mkfs() accepts. */
#define UDAX_MIN_POOL_SIZE (4ull << 20)

typedef struct udax_fs udax_fs;
typedef struct udax_dir udax_dir;

/* ------------------------------------------------------------------ */
/* Pools                                                              */
/* ------------------------------------------------------------------ */

/* Flags for udax_mkfs(). */
#define UDAX_MKFS_FORCE 0x1u /* overwrite an existing udax pool */

/*
 * udax_mkfs - format a pool.
 * @path:  a regular file (created if absent, mode 0600, grown to @size)
 *         or an existing device or file.
 * @size:  pool size in bytes; 0 means "use the file's current size".
 *         Rounded down to a multiple of UDAX_BLOCK_SIZE.
 * @flags: UDAX_MKFS_FORCE to overwrite a pool that already holds udax.
 *
 * The pool's lock is taken before anything is written: a pool mounted
 * by another process is refused with -EBUSY and left unchanged.  A
 * regular file's blocks are reserved first (its file system's free
 * space is checked, then fallocate where supported), so stores into the
 * pool cannot fail later for want of space; if that fails, a file mkfs
 * created is removed again.  An existing file keeps its mode.
 *
 * Returns 0, -EEXIST if @path already holds a udax pool and FORCE was
 * not given, -EINVAL if @size is below UDAX_MIN_POOL_SIZE or @path is
 * neither a regular file nor a device, -EBUSY if it is mounted,
 * -ENOSPC if its file system cannot hold it, or the errno of the
 * failing system call.
 */
int udax_mkfs(const char *path, uint64_t size, unsigned flags);

/*
 * udax_mkfs_mode - udax_mkfs() with the pool file's permission bits:
 * @mode (e.g. 0600, 0660) is given to a new file and to an existing
 * one being re-formatted; 0 means the default (0600 for a new file, an
 * existing file's mode kept).  Whoever can open the pool file can read
 * and change every file in it: udax checks no permissions of its own.
 */
int udax_mkfs_mode(const char *path, uint64_t size, unsigned flags, unsigned mode);

/*
 * udax_mount - open a pool and make its file system usable.
 * @path:    the pool.
 * @options: NULL or a comma-separated list:
 *             ro            - mount read-only (no journal replay
 *                             writes; fails with -EROFS if the journal
 *                             needs replay)
 *             shadow        - use the shadow persistence backend: the
 *                             pool is a working image, and a separate
 *                             "persisted" image is updated only by
 *                             flush + fence.  udax_shadow_save() then
 *                             writes what a power cut would leave.
 *             write_lock=entry|exclusive|flush|range
 *                           - how writes exclude page faults (the DAX
 *                             engine); accepted and recorded.
 * @out:     receives the mounted file system.
 *
 * Mounting replays a committed but unfinished journal transaction and
 * frees orphaned inodes (unlinked while open at a crash).
 *
 * Returns 0 or: -ENOENT (no such pool), -EINVAL (not a udax pool, bad
 * option), -EUCLEAN (checksum mismatch or inconsistent geometry),
 * -EPROTONOSUPPORT (newer format version or unknown incompatible
 * feature), -EFBIG (pool shorter than its superblock says), -EBUSY
 * (pool already mounted by this process; or its runtime region under
 * /dev/shm does not match the pool while other processes are attached
 * to it), -EUSERS (64 processes have it mounted already), or a system
 * call's errno.  udax_last_error() then gives a one-line explanation.
 *
 * Any number of processes may mount one pool at once, read-write or
 * read-only (up to 64): they share a runtime region (a file under
 * /dev/shm named from the pool's uuid and file, with the pool's mode)
 * and see each other's changes as threads of one process would; a
 * store through a mapping in one process and a pwrite in another obey
 * the same rules as two threads.  A process that dies at any moment
 * leaves the others running (they recover its locks; nothing fsync'ed
 * is lost).  Every process that mounts a pool trusts the others.  Only
 * what must be alone refuses while any process has the pool mounted:
 * udax_mkfs(UDAX_MKFS_FORCE) and udax_fsck_ex(UDAX_FSCK_REPAIR).  A
 * child of fork() must not use its parent's mounts; it may mount the
 * pool itself, beside them.
 */
int udax_mount(const char *path, const char *options, udax_fs **out);

/*
 * udax_unmount - flush everything, mark the pool clean and release it.
 * Open descriptors are closed.  Returns 0 or a negative errno (the
 * file system is released in every case).
 */
int udax_unmount(udax_fs *fs);

/*
 * udax_last_error - the detailed message of the last failing
 * udax_mkfs/udax_mount/udax_fsck call in this thread ("" if none).
 * Each of those three calls clears it when it starts.
 */
const char *udax_last_error(void);

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

/*
 * udax_open - open or create a file.
 * @flags: O_RDONLY/O_WRONLY/O_RDWR with O_CREAT, O_EXCL, O_TRUNC,
 *         O_APPEND, O_SYNC, O_DSYNC, O_DIRECTORY, O_NOFOLLOW,
 *         O_CLOEXEC (ignored).  Other flags give -EINVAL.
 * @mode:  permission bits for O_CREAT (masked with 07777).
 * Returns a descriptor >= 0 or -ENOENT, -EEXIST, -EISDIR, -ENOTDIR,
 * -ENAMETOOLONG, -ENOSPC, -EMFILE, -EROFS, -EINVAL, -ELOOP (a symbolic
 * link: udax does not follow links).  New files and directories are
 * owned by the caller's effective uid and gid.
 */
int udax_open(udax_fs *fs, const char *path, int flags, mode_t mode);
int udax_close(udax_fs *fs, int fd);

/* Read/write at the descriptor's offset; the offset advances.  A write
 * on an O_APPEND descriptor goes to the end of file.  Reads past EOF
 * return 0; holes read as zeros.  Returns bytes done or -errno
 * (-EBADF, -EINVAL, -EFBIG, -ENOSPC, -EISDIR). */
ssize_t udax_read(udax_fs *fs, int fd, void *buf, size_t len);
ssize_t udax_write(udax_fs *fs, int fd, const void *buf, size_t len);

/* Positional I/O; the descriptor's offset is unchanged.  A negative
 * @off gives -EINVAL; off + len beyond UDAX_MAX_FILE_SIZE gives -EFBIG
 * for writes.  pwrite's data is persistent when the call returns. */
ssize_t udax_pread(udax_fs *fs, int fd, void *buf, size_t len, off_t off);
ssize_t udax_pwrite(udax_fs *fs, int fd, const void *buf, size_t len,
                    off_t off);

/* Largest file offset udax stores (2^44 bytes = 16 TiB). */
#define UDAX_MAX_FILE_SIZE (1ull << 44)

/* SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE, as lseek(2).
 * SEEK_DATA/SEEK_HOLE follow the extent map; -ENXIO past EOF. */
off_t udax_lseek(udax_fs *fs, int fd, off_t off, int whence);

/* Make the file's data and metadata durable, including every page
 * stored to through a mapping since the last flush.  fdatasync skips
 * timestamps that are not needed to read the data back. */
int udax_fsync(udax_fs *fs, int fd);
int udax_fdatasync(udax_fs *fs, int fd);

/* Set the file size.  Shrinking frees blocks past the new size and
 * zeroes the tail of the last block; growing leaves a hole. */
int udax_ftruncate(udax_fs *fs, int fd, off_t len);

/* fallocate(2) modes udax supports (same values as Linux). */
#define UDAX_FALLOC_KEEP_SIZE 0x01
#define UDAX_FALLOC_PUNCH_HOLE 0x02
#define UDAX_FALLOC_ZERO_RANGE 0x10

/*
 * udax_fallocate - allocate, punch or zero a range.
 * @mode 0: allocate zeroed blocks for [off, off+len) and grow the size;
 *   KEEP_SIZE: allocate without growing;
 *   PUNCH_HOLE|KEEP_SIZE: free the blocks (partial blocks are zeroed);
 *   ZERO_RANGE [|KEEP_SIZE]: the range reads as zeros afterwards and
 *   stays allocated.
 * Returns 0, -EINVAL (bad mode, off < 0, len <= 0), -EOPNOTSUPP (PUNCH
 * without KEEP_SIZE, as Linux), -ENOSPC, -EFBIG, -EBADF.
 */
int udax_fallocate(udax_fs *fs, int fd, int mode, off_t off, off_t len);

/* File status.  st_blocks counts 512-byte units of allocated blocks;
 * st_dev is 0; st_ino the udax inode number.  udax_stat() does not
 * follow a symbolic link: it reports the link (lstat(2) semantics). */
struct stat;
int udax_stat(udax_fs *fs, const char *path, struct stat *st);
int udax_fstat(udax_fs *fs, int fd, struct stat *st);

/*
 * Attributes, by path or by descriptor.  Each is one journal
 * transaction and sets ctime.  udax stores owners and modes but checks
 * no permissions itself: the caller (the kernel over FUSE, or the
 * process using the library) decides who may do what.
 *
 * udax_chmod  - set the permission bits (mode & 07777); the file type
 *               is kept.
 * udax_chown  - set owner and/or group; (uid_t)-1 / (gid_t)-1 leave
 *               that one unchanged.
 * udax_utimens - set atime (@ts[0]) and mtime (@ts[1]) as utimensat(2):
 *               @ts NULL means both now; tv_nsec UTIME_NOW / UTIME_OMIT
 *               are honoured.  Times within about 292 years of 1970,
 *               before it too; beyond that or tv_nsec out of range
 *               give -EINVAL.
 * Errors: -ENOENT, -ENOTDIR, -EBADF (descriptor calls), -EROFS.
 */
struct timespec;

/*
 * udax_set_creator - owner and group of the files, directories and links
 * the calling thread creates from now on (in any mounted file system),
 * written in the same transaction as the new name.  (uid_t)-1 /
 * (gid_t)-1 return to the thread's effective ids, the default.  For
 * servers creating files on behalf of other users (the FUSE front end).
 */
void udax_set_creator(uid_t uid, gid_t gid);
int udax_chmod(udax_fs *fs, const char *path, mode_t mode);
int udax_fchmod(udax_fs *fs, int fd, mode_t mode);
int udax_chown(udax_fs *fs, const char *path, uid_t uid, gid_t gid);
int udax_fchown(udax_fs *fs, int fd, uid_t uid, gid_t gid);
int udax_utimens(udax_fs *fs, const char *path, const struct timespec ts[2]);
int udax_futimens(udax_fs *fs, int fd, const struct timespec ts[2]);

/* ------------------------------------------------------------------ */
/* Mappings: direct access to pool blocks                             */
/* ------------------------------------------------------------------ */

/* udax_mmap flag: a write fault that allocates commits the allocation
 * before it returns, so stores flushed with CPU instructions alone are
 * never lost to a missing block mapping (MAP_SYNC's promise).  Every
 * udax allocation commits at once today; the flag records the intent
 * and is refused on MAP_PRIVATE. */
#define UDAX_MAP_SYNC 0x80000

/*
 * udax_mmap - map @len bytes of file @fd from offset @off.
 * @prot:  PROT_READ and/or PROT_WRITE.
 * @flags: MAP_SHARED (or MAP_SHARED_VALIDATE) or MAP_PRIVATE, with
 *         optional UDAX_MAP_SYNC, MAP_POPULATE, MAP_NORESERVE.
 * @out:   receives the address (chosen by udax, 2 MiB-congruent with
 *         @off so aligned runs can be served as one 2 MiB fault).
 *
 * Page faults on the mapping are served by udax (a SIGSEGV handler is
 * installed at the first call; faults outside udax mappings go to the
 * handler that was there before, or take the default action).  Holes
 * read as zeros through a shared zero page; the first store to a page
 * allocates a block (for holes) and marks the page dirty, so fsync and
 * msync flush exactly the pages stored to.  An access at or beyond the
 * page past end of file raises SIGBUS; a store to a PROT_READ mapping is
 * an ordinary SIGSEGV.  Bytes past end of file in the last page read
 * zero.  MAP_PRIVATE stores never reach the file; as on Linux, a private
 * page not yet stored to shows the file's current data (also after a
 * write fills a hole under it), and a page stored to keeps the process's
 * copy through writes and hole punches, until a shrinking truncate
 * removes the page.
 *
 * A child of fork() cannot use the parent's mappings or descriptors:
 * pages already present keep working, a fault that needs the file system
 * raises SIGBUS (with a message on stderr, once), descriptor calls fail
 * with -EBADF and metadata changes with -EIO.  A page the parent had
 * mapped writable stays writable in the child and its stores reach the
 * file, but the parent's fsync write-protects only its own mappings: a
 * child's stores after that are not tracked, so not guaranteed durable.
 *
 * Returns 0 or -EBADF, -EINVAL (len 0, unaligned @off, bad or
 * unsupported flags or prot, MAP_FIXED), -EOVERFLOW (off + len past the
 * 16 TiB limit), -EACCES (write-only fd, or PROT_WRITE|MAP_SHARED on a
 * read-only fd), -ENODEV (a directory), -EROFS, -ENOMEM.
 *
 * Limits: install an application SIGSEGV handler before the first
 * udax_mmap (udax chains to it); one installed later replaces udax's.
 * munmap works on whole mappings only.
 */
int udax_mmap(udax_fs *fs, int fd, size_t len, int prot, int flags, off_t off, void **out);

/* Remove a whole mapping made by udax_mmap (@addr and @len as given or
 * returned).  -EINVAL for anything else; nothing else is touched. */
int udax_munmap(udax_fs *fs, void *addr, size_t len);

/* Flush the pages of [addr, addr+len) stored to through the mapping.
 * A range that wraps around the address space or is not inside one
 * mapping gives -ENOMEM (as msync(2)).
 * @flags: MS_SYNC or MS_ASYNC (both flush at once), MS_INVALIDATE
 * (accepted; nothing to do on DAX).  -EINVAL for an unaligned @addr or
 * bad flags, -ENOMEM if the range is not within one udax mapping. */
int udax_msync(udax_fs *fs, void *addr, size_t len, int flags);

/*
 * udax_flush - make stores to [addr, addr+len) of a shared mapping
 * persistent now: flush their cache lines and fence, without fsync's
 * metadata work.  With UDAX_MAP_SYNC mappings this is all an
 * application needs (like pmem_persist()); on real persistent memory
 * flushing the mapping's own addresses with clwb + sfence is
 * equivalent.  Pages stay dirty for the next fsync.  -ENOMEM if the
 * range is not within one udax mapping.
 */
int udax_flush(udax_fs *fs, const void *addr, size_t len);

/*
 * udax_pin - make [addr, addr+len) of a udax mapping usable by the
 * kernel, until udax_unpin.
 * @prot: PROT_READ (the kernel will read the buffer: write(2), send(2),
 *        pwrite(2) to another file) or PROT_WRITE, alone or with
 *        PROT_READ (the kernel will store into it: read(2) from a pipe
 *        or socket, recv(2), pread(2) of another file, O_DIRECT).
 *
 * udax serves page faults on its mappings in user space, and the kernel
 * cannot take those faults: a system call given a buffer in a udax
 * mapping fails with EFAULT (or returns a short count) on any page that
 * is not present yet, that is present read-only when it must store
 * (clean pages are read-only so that the first store faults and marks
 * the page dirty), or that udax took away meanwhile to stay under the
 * kernel's mapping limit.  So before handing such a buffer to a system
 * call, pin it; unpin it when the call has returned:
 *
 *     udax_pin(fs, map + off, n, PROT_WRITE);
 *     ssize_t r = read(pipefd, map + off, n);
 *     udax_unpin(fs, map + off, n);
 *
 * udax_pin faults every page of the range in, as a load or store would
 * (a write pin allocates blocks for holes and marks the pages dirty, so
 * the next fsync/msync flushes what the kernel stores; the contents are
 * not changed), and until udax_unpin those pages stay mapped: mapping
 * eviction skips them, and writeback flushes them without
 * write-protecting them, so they stay dirty and each later fsync flushes
 * them again.  Pins nest: each udax_pin needs its own udax_unpin with
 * the same @addr and @len.  Pins belong to the process; any thread may
 * unpin.  The LD_PRELOAD interposer does all this by itself around
 * every libc call it wraps that hands a buffer to the kernel.
 *
 * Returns 0 or -EINVAL (@fs or @addr NULL, @len 0, the range wraps
 * around, @prot not PROT_READ/PROT_WRITE), -ENOMEM (the range is not
 * within one udax mapping of @fs, or no memory for the pin), -EACCES
 * (PROT_WRITE on a PROT_READ mapping), -EFAULT (part of the range is
 * at or beyond the page past end of file, or keeps being truncated
 * away), -ENOSPC (no block for a hole pinned for writing), or the
 * fault's own error.  On an error nothing stays pinned, though pages
 * already faulted in stay mapped as any fault leaves them.
 *
 * Limits: truncate, hole punch, zero range and collapse still remove
 * pinned pages (as the kernel frees pages under O_DIRECT); a system
 * call that runs across them then gets EFAULT or a short count.  A hole
 * pinned for reading is mapped as the shared zero page, and a store or
 * pwrite that fills that hole while the pin is held replaces it: the
 * kernel may then get EFAULT (a pin for writing has a block of its own
 * and is not affected).  munmap of a pinned mapping is not delayed.
 */
int udax_pin(udax_fs *fs, void *addr, size_t len, int prot);

/* Drop a pin made by udax_pin with the same @addr and @len.  Returns 0,
 * or -EINVAL for bad arguments or when no such pin is held. */
int udax_unpin(udax_fs *fs, void *addr, size_t len);

/* ------------------------------------------------------------------ */
/* Namespace                                                          */
/* ------------------------------------------------------------------ */

int udax_mkdir(udax_fs *fs, const char *path, mode_t mode);
int udax_rmdir(udax_fs *fs, const char *path);   /* -ENOTEMPTY, -EBUSY for / */
int udax_unlink(udax_fs *fs, const char *path);  /* -EISDIR for directories */

/*
 * udax_link - give the file @from a second name @to (link(2)).
 * Directories cannot be linked (-EPERM); -EEXIST if @to exists,
 * -EMLINK past 65000 links.
 */
int udax_link(udax_fs *fs, const char *from, const char *to);

/* Longest symbolic-link target udax stores (up to 147 bytes inline in
 * the inode, longer ones in a block). */
#define UDAX_SYMLINK_MAX 4095

/*
 * udax_symlink - create a symbolic link @path whose target is @target
 * (any string of 1..UDAX_SYMLINK_MAX bytes, -ENAMETOOLONG beyond).
 * udax never follows links itself: paths are resolved lexically, a
 * link used as a directory component gives -ENOTDIR, and udax_open()
 * of a link gives -ELOOP.  The kernel (FUSE) or the interposer follows
 * them by reading the target.
 *
 * udax_readlink - copy at most @size bytes of the target of link @path
 * into @buf, without a terminating NUL, as readlink(2); returns the
 * bytes copied, -EINVAL if @path is not a link.
 */
int udax_symlink(udax_fs *fs, const char *target, const char *path);
ssize_t udax_readlink(udax_fs *fs, const char *path, char *buf, size_t size);

/* rename(2)/renameat2(2) flags. */
#define UDAX_RENAME_NOREPLACE 0x1
#define UDAX_RENAME_EXCHANGE 0x2

/*
 * udax_rename - move @from to @to atomically (one journal transaction).
 * Replaces an existing @to as rename(2) does, unless NOREPLACE
 * (-EEXIST); EXCHANGE swaps the two (both must exist).  Moving a
 * directory into its own subtree gives -EINVAL.
 */
int udax_rename(udax_fs *fs, const char *from, const char *to,
                unsigned flags);

struct udax_dirent {
	uint64_t d_ino;
	unsigned char d_type; /* DT_REG, DT_DIR or DT_LNK */
	char d_name[UDAX_NAME_MAX + 1];
};

/* Directory streams.  readdir returns 1 and fills @ent, 0 at the end,
 * or -errno.  The listing omits "." and "..". */
int udax_opendir(udax_fs *fs, const char *path, udax_dir **out);
int udax_readdir(udax_dir *dir, struct udax_dirent *ent);
int udax_closedir(udax_dir *dir);

struct udax_statfs {
	uint64_t block_size;
	uint64_t total_blocks;
	uint64_t free_blocks;
	uint64_t total_inodes;
	uint64_t free_inodes;
	uint64_t name_max;
};
int udax_statfs(udax_fs *fs, struct udax_statfs *st);

/* ------------------------------------------------------------------ */
/* Checking and information                                           */
/* ------------------------------------------------------------------ */

/*
 * udax_fsck - check every invariant of a pool, changing nothing.
 * A pending journal transaction is replayed and orphaned inodes are
 * freed as a mount would, but into a private copy-on-write mapping, so
 * the check sees what a mount would give and the pool file is never
 * written.  Runs beside read-only mounts; beside a read-write mount of
 * another process it checks a live file system (see udax_fsck_ex).
 * Checks checksums, geometry, the block bitmap against the extent maps,
 * blocks owned twice, link counts, the directory tree and sizes.
 * Each problem found is passed to @report (may be NULL) as one line.
 * Returns the number of problems (0 = clean) or a negative errno when
 * the pool cannot be opened at all.
 */
int udax_fsck(const char *path,
              void (*report)(void *arg, const char *problem), void *arg);

/* Flags for udax_fsck_ex(). */
#define UDAX_FSCK_REPAIR 0x1u /* replay and free orphans in the pool itself */

struct udax_fsck_result {
	int problems;       /* as returned */
	int journal;        /* the journal held a transaction not yet home:
	                     * replayed (REPAIR) or it needs replay */
	int live;           /* checked beside a read-write mount elsewhere:
	                     * problems may be transient */
	uint64_t orphans;   /* unnamed inodes freed (REPAIR) or to be freed */
};

/*
 * udax_fsck_ex - udax_fsck() with @flags: UDAX_FSCK_REPAIR writes the
 * replay and the orphans' release to the pool, and so needs it to be
 * unmounted everywhere (-EBUSY otherwise).  @res (may be NULL) says
 * what was found.  Returns as udax_fsck().
 */
int udax_fsck_ex(const char *path, unsigned flags,
                 void (*report)(void *arg, const char *problem), void *arg,
                 struct udax_fsck_result *res);

struct udax_info {
	uint8_t uuid[16];
	uint32_t version;
	uint32_t clean;          /* 1 if the pool was unmounted cleanly before this mount */
	uint64_t pool_size;
	uint64_t total_blocks;
	uint64_t data_start;     /* first data block */
	uint64_t free_blocks;
	uint64_t total_inodes;
	uint64_t free_inodes;
	uint64_t journal_blocks;
	uint64_t mount_count;
	char flush_insn[16];     /* "clwb", "clflushopt", "clflush", "shadow" */
	int map_sync;            /* 1 if mapped with MAP_SYNC */
};
int udax_info(udax_fs *fs, struct udax_info *info);

/* ------------------------------------------------------------------ */
/* Shadow persistence (crash simulation; mount option "shadow")       */
/* ------------------------------------------------------------------ */

/* Number of fences (persist barriers) issued so far. */
uint64_t udax_shadow_fences(udax_fs *fs);

/*
 * udax_shadow_set_hook - call @hook at every fence, numbered 1, 2, ...,
 * *before* the fence takes effect: the cache lines flushed since the
 * previous fence are still pending.  Inside the hook only
 * udax_shadow_save(), udax_shadow_save_subset() and
 * udax_shadow_pending() may be called (the backend's lock is held).
 * NULL removes the hook.  -EINVAL without the "shadow" option.
 */
typedef void (*udax_fence_hook)(udax_fs *fs, uint64_t fence, void *arg);
int udax_shadow_set_hook(udax_fs *fs, udax_fence_hook hook, void *arg);

/*
 * udax_shadow_save - write the persisted image (what would survive a
 * power cut right now) to the file @path.  Returns 0 or -errno.
 * -EINVAL if the pool is not mounted with "shadow".  Outside a hook,
 * call it while no other thread is using the file system.
 */
int udax_shadow_save(udax_fs *fs, const char *path);

/*
 * udax_shadow_save_subset - inside a fence hook: the persisted image
 * plus a subset of the pending lines chosen pseudo-randomly by @seed
 * (0: none, UINT64_MAX: all of them, i.e. the state after the fence).
 * Models a power cut just before the fence, when any subset of the
 * lines written back may already be on media.
 */
int udax_shadow_save_subset(udax_fs *fs, const char *path, uint64_t seed);

/* Inside a fence hook: how many cache lines are pending. */
size_t udax_shadow_pending(udax_fs *fs);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* UDAX_H */
