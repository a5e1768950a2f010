/*
 * rw.c - the API's data calls: pread, pwrite, read, write.
 *
 * Reads copy from pool blocks and produce zeros for holes, under the
 * inode's rw lock shared.  Writes hold it exclusively and hand the copy
 * to the DAX engine (dax/write.c: hole filling, the write_lock= policies
 * against page faults); this file owns descriptors, offsets, O_APPEND,
 * the file size limit, timestamps and O_SYNC.  Copies from and to the
 * caller's buffer may fault (the buffer can be a udax mapping, even of
 * the same range): they bail out, the locks are dropped, the page is
 * faulted in and the call goes on where it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/fs.h"
#include "dax/dax.h"
#include "util/sched.h"
#include "util/lockdep.h"
#include "util/debug.h"

static char *block_addr(udax_fs *fs, uint64_t pblk)
{
	return meta_block(&fs->m, pblk);
}

/* ---- reads ---- */

static ssize_t read_locked(udax_fs *fs, struct inode *ip, char *out, uint64_t pos,
                           uint64_t len, void **fault_addr, int *efault)
{
	uint64_t start = pos, size = ip->d.size;
	uint64_t end = pos + len < size ? pos + len : size;

	while (pos < end) {
		struct dextent x;
		uint64_t next, b = pos / BLK, in = pos % BLK, n, done;
		if (xmap_lookup(&ip->xm, b, &x, &next)) {
			n = (x.lblk + x.len) * BLK - pos;
			n = n < end - pos ? n : end - pos;
			done = vm_copy(out, block_addr(fs, x.pblk + (b - x.lblk)) + in, n, VM_USER_DST, NULL, NULL,
			               fault_addr, efault);
		} else {
			n = next == UINT64_MAX ? end - pos : next * BLK - pos;
			n = n < end - pos ? n : end - pos;
			static const char zeros[BLK];
			done = 0;
			while (done < n) {
				size_t c = n - done < BLK ? n - done : BLK;
				size_t k = vm_copy(out + done, zeros, c, VM_USER_DST, NULL, NULL, fault_addr, efault);
				done += k;
				if (k < c)
					break;
			}
		}
		out += done;
		pos += done;
		if (done < n)
			break;
	}
	return (ssize_t)(pos - start);
}

static ssize_t pread_file(udax_fs *fs, struct ufile *f, void *buf, size_t len, off_t off)
{
	uint64_t total = 0;

	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (S_ISDIR(f->ip->d.mode))
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	for (;;) {
		void *fa = NULL;
		int efault = 0;
		pl_rdlock(&f->ip->rw, UL_INODE_RW);
		ssize_t r = read_locked(fs, f->ip, (char *)buf + total, (uint64_t)off + total,
		                        len - total, &fa, &efault);
		uint64_t size = f->ip->d.size;
		pl_unlock(&f->ip->rw);
		total += (uint64_t)r;
		if (!fa || (uint64_t)off + total >= size || total == len)
			break;
		if (efault || vm_prefault(fa, 1) < 0)
			return total ? (ssize_t)total : -EFAULT;
	}
	return (ssize_t)total;
}

ssize_t udax_pread(udax_fs *fs, int fd, void *buf, size_t len, off_t off)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ssize_t r = pread_file(fs, f, buf, len, off);
	fd_put(fs, f);
	return r;
}

static ssize_t do_write(udax_fs *fs, struct ufile *f, const void *buf, size_t len,
                        off_t off, int use_pos)
{
	struct inode *ip = f->ip;
	struct dax_write ws = { .m = &fs->m, .ip = ip, .src = buf };
	uint64_t total = 0;

	if (!fd_writable(f))
		return -EBADF;
	if (S_ISDIR(ip->d.mode))
		return -EISDIR;
	if (!use_pos && off < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (!buf)
		return -EFAULT;
	ws.di = ip->upper;
	for (;;) {
		pl_wrlock(&ip->rw, UL_INODE_RW);
		uint64_t pos = (f->flags & O_APPEND) ? ip->d.size : (uint64_t)(use_pos ? f->pos : off) + total;
		if (total == 0) {
			if (pos >= UDAX_MAX_FILE_SIZE) {
				pl_unlock(&ip->rw);
				return -EFBIG;
			}
			if (len > UDAX_MAX_FILE_SIZE - pos)
				len = UDAX_MAX_FILE_SIZE - pos;
			ws.start = pos;
			ws.end = pos + len;
		}
		pos = ws.start + total;
		ws.fault_addr = NULL;
		ssize_t r = dax_write(&ws, pos);
		if (r > 0) {
			total += (uint64_t)r;
			if (use_pos)
				f->pos = (off_t)(ws.start + total);
			/* the dinode is written only under tx_lock: a page fault
			 * may be committing an allocation for this inode now */
			meta_lock(&fs->m);
			ip->d.mtime_ns = ip->d.ctime_ns = now_ns();
			ip->times_dirty = 1;
			meta_unlock(&fs->m);
			if (f->flags & (O_SYNC | O_DSYNC))
				inode_sync_times(fs, ip, 0);
		}
		pl_unlock(&ip->rw);
		if (r < 0)
			return total ? (ssize_t)total : r;
		if (!ws.fault_addr || total == len)
			break;
		/* the source is (or was) a udax mapping: fault it in, go on */
		if (ws.efault || vm_prefault(ws.fault_addr, 0) < 0)
			return total ? (ssize_t)total : -EFAULT;
		sched_point("write:refault");
	}
	return (ssize_t)total;
}

ssize_t udax_pwrite(udax_fs *fs, int fd, const void *buf, size_t len, off_t off)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ssize_t r = do_write(fs, f, buf, len, off, 0);
	fd_put(fs, f);
	return r;
}

ssize_t udax_write(udax_fs *fs, int fd, const void *buf, size_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ul_mutex_lock(&f->pos_lock, UL_POS);
	ssize_t r = do_write(fs, f, buf, len, 0, 1);
	ul_mutex_unlock(&f->pos_lock);
	fd_put(fs, f);
	return r;
}

ssize_t udax_read(udax_fs *fs, int fd, void *buf, size_t len)
{
	struct ufile *f = fd_get(fs, fd);

	if (!f)
		return -EBADF;
	ul_mutex_lock(&f->pos_lock, UL_POS);
	ssize_t r = pread_file(fs, f, buf, len, f->pos);   /* not the fd: it may be reused */
	if (r > 0)
		f->pos += r;
	ul_mutex_unlock(&f->pos_lock);
	fd_put(fs, f);
	return r;
}
