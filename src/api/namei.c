/*
 * namei.c - paths and the namespace: lookup, mkdir, rmdir, unlink,
 * rename, directory streams, stat.
 *
 * Paths are resolved lexically (there are no symbolic links): "." is
 * dropped, ".." removes the previous component, and a ".." that would
 * climb above "/" is refused with -EINVAL rather than silently clamped,
 * so a caller building paths from untrusted names notices.  Relative
 * paths are taken relative to "/".
 *
 * Every function here runs under fs->ns_lock.  Each namespace change is
 * a single journal transaction, so after a crash it is wholly there or
 * wholly absent.  Inodes left without a name are freed afterwards in
 * their own transactions (or by the orphan scan of the next mount).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/fs.h"
#include "util/lockdep.h"

#define MAX_DEPTH 2048

struct comp {
	const char *s;
	size_t len;
};

/* Split and normalise @path; returns the number of components. */
static int split_path(const char *path, struct comp *c, int *trailing)
{
	int n = 0;
	size_t total;

	if (!path)
		return -EFAULT;
	total = strnlen(path, UDAX_PATH_MAX + 1);
	if (total == 0)
		return -ENOENT;
	if (total > UDAX_PATH_MAX)
		return -ENAMETOOLONG;
	*trailing = path[total - 1] == '/';
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > UDAX_NAME_MAX)
			return -ENAMETOOLONG;
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0)
				return -EINVAL; /* climbs above the root */
			n--;
		} else {
			if (n == MAX_DEPTH)
				return -ENAMETOOLONG;
			c[n].s = p;
			c[n].len = len;
			n++;
		}
		p += len;
	}
	return n;
}

static int dir_ready(udax_fs *fs, struct inode *dp)
{
	if (!S_ISDIR(dp->d.mode))
		return -ENOTDIR;
	return dir_load(&fs->m, dp);
}

/* The inode of the first @n components of @c, from the root. */
static int walk_comps(udax_fs *fs, const struct comp *c, int n, struct inode **out)
{
	int err = 0;
	struct inode *dp = iget(&fs->m, ROOT_INO, &err);

	for (int i = 0; dp && i < n; i++) {
		err = dir_ready(fs, dp);
		struct dcent *e = err ? NULL : dir_lookup(dp, c[i].s, c[i].len);
		if (!err && !e)
			err = -ENOENT;
		struct inode *next = err ? NULL : iget(&fs->m, e->ino, &err);
		iput(&fs->m, dp);
		dp = next;
	}
	if (!dp)
		return err ? err : -ENOENT;
	*out = dp;
	return 0;
}

static int is_dot(const char *p, size_t len)
{
	return (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
}

/*
 * Lexical resolution drops "." and "..", and with them the rule that
 * what precedes them is a directory: "/file/." and "/file/../x" are
 * ENOTDIR, "/gone/.." ENOENT, as the kernel has it.  So when @path has
 * a dot component, check each prefix standing before one.
 */
static int check_dots(udax_fs *fs, const char *path, struct comp *c)
{
	int n = 0, err;

	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (is_dot(p, len) && n > 0) {
			struct inode *ip;
			err = walk_comps(fs, c, n, &ip);
			if (err)
				return err;
			err = S_ISDIR(ip->d.mode) ? 0 : -ENOTDIR;
			iput(&fs->m, ip);
			if (err)
				return err;
		}
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n > 0)
				n--;
		} else if (n < MAX_DEPTH) {
			c[n].s = p;
			c[n].len = len;
			n++;
		}
		p += len;
	}
	return 0;
}

static int has_dots(const char *path)
{
	for (const char *p = path; (p = strchr(p, '.')); p++)
		if ((p == path || p[-1] == '/') &&
		    (p[1] == '/' || !p[1] || (p[1] == '.' && (p[2] == '/' || !p[2]))))
			return 1;
	return 0;
}

/* Resolve all but the last component. */
int path_parent(udax_fs *fs, const char *path, struct walk *w)
{
	struct comp *c = malloc(MAX_DEPTH * sizeof(*c));
	int trailing, n, err = 0;
	struct inode *dp;

	memset(w, 0, sizeof(*w));
	if (!c)
		return -ENOMEM;
	n = split_path(path, c, &trailing);
	if (n >= 0 && has_dots(path)) {
		err = check_dots(fs, path, c);
		if (err) {
			free(c);
			return err;
		}
		n = split_path(path, c, &trailing);
		/* a last "." or ".." names a directory, as a slash does */
		size_t l = strlen(path);
		if (path[l - 1] == '.' && (l == 1 || path[l - 2] == '/' ||
		    (path[l - 2] == '.' && (l == 2 || path[l - 3] == '/'))))
			trailing = 1;
	}
	if (n < 0) {
		free(c);
		return n;
	}
	err = walk_comps(fs, c, n > 0 ? n - 1 : 0, &dp);
	if (err)
		dp = NULL;
	if (dp && (err = dir_ready(fs, dp)) < 0) {
		iput(&fs->m, dp);
		dp = NULL;
	}
	if (!dp) {
		free(c);
		return err ? err : -ENOENT;
	}
	w->dir = dp;
	w->trailing_slash = trailing;
	if (n > 0) {
		memcpy(w->name, c[n - 1].s, c[n - 1].len);
		w->len = c[n - 1].len;
	}
	free(c);
	return 0;
}

void walk_done(udax_fs *fs, struct walk *w)
{
	if (w->dir)
		iput(&fs->m, w->dir);
	w->dir = NULL;
}

struct dcent *walk_entry_of(struct walk *w)
{
	return w->len ? dir_lookup(w->dir, w->name, w->len) : NULL;
}

/* The inode @path names, referenced.  Caller holds ns_lock. */
int path_lookup(udax_fs *fs, const char *path, struct inode **out)
{
	struct walk w;
	int err = path_parent(fs, path, &w);

	if (err)
		return err;
	if (w.len == 0) { /* "/" */
		*out = w.dir;
		return 0;
	}
	struct dcent *e = walk_entry_of(&w);
	struct inode *ip = e ? iget(&fs->m, e->ino, &err) : NULL;
	walk_done(fs, &w);
	if (!e)
		return -ENOENT;
	if (!ip)
		return err;
	if (w.trailing_slash && !S_ISDIR(ip->d.mode)) {
		iput(&fs->m, ip);
		return -ENOTDIR;
	}
	*out = ip;
	return 0;
}

static void touch_dir(struct dinode *d)
{
	d->mtime_ns = d->ctime_ns = now_ns();
}

int udax_mkdir(udax_fs *fs, const char *path, mode_t mode)
{
	struct walk w;
	struct tx tx;
	int err;

	if (fs->m.rdonly)
		return -EROFS;
	ns_lock(fs);
	err = path_parent(fs, path, &w);
	if (err)
		goto out;
	if (w.len == 0 || walk_entry_of(&w)) {
		err = -EEXIST;
		goto done;
	}
	tx_begin(&fs->m, &tx);
	struct inode *ip = ialloc(&tx, S_IFDIR | (mode & 07777), w.dir->ino, &err);
	if (ip)
		err = dir_load(&fs->m, ip);
	if (!err)
		err = dir_add(&tx, w.dir, w.name, w.len, ip->ino, DT_DIR_);
	struct dinode *pd = err ? NULL : tx_inode(&tx, w.dir);
	if (pd) {
		pd->nlink++;
		touch_dir(pd);
	}
	if (err || !pd) {
		tx_abort(&tx);
		err = err ? err : -E2BIG;
	} else {
		err = tx_commit(&tx);
		if (!err)          /* a failed commit undid ialloc: @ip is gone */
			iput(&fs->m, ip);
	}
done:
	walk_done(fs, &w);
out:
	ns_unlock(fs);
	return err;
}

/* Remove entry @e naming @ip from @w->dir; drops one link of @ip. */
static int unlink_entry(udax_fs *fs, struct walk *w, struct dcent *e, struct inode *ip)
{
	struct tx tx;
	int isdir = S_ISDIR(ip->d.mode);

	if (!isdir)
		pl_wrlock(&ip->rw, UL_INODE_RW);
	tx_begin(&fs->m, &tx);
	int err = dir_remove(&tx, w->dir, e);
	struct dinode *pd = err ? NULL : tx_inode(&tx, w->dir);
	struct dinode *d = pd ? tx_inode(&tx, ip) : NULL;
	if (d) {
		touch_dir(pd);
		d->ctime_ns = pd->ctime_ns;
		if (isdir) {
			pd->nlink--;
			d->nlink = 0;
		} else {
			d->nlink--;
		}
		err = tx_commit(&tx);
	} else {
		tx_abort(&tx);
		err = err ? err : -E2BIG;
	}
	if (!isdir)
		pl_unlock(&ip->rw);
	return err;
}

static int remove_common(udax_fs *fs, const char *path, int want_dir)
{
	struct walk w;
	struct inode *ip = NULL;
	int err;

	if (fs->m.rdonly)
		return -EROFS;
	ns_lock(fs);
	err = path_parent(fs, path, &w);
	if (err)
		goto out;
	if (w.len == 0) {
		err = want_dir ? -EBUSY : -EISDIR;
		goto done;
	}
	struct dcent *e = walk_entry_of(&w);
	if (!e) {
		err = -ENOENT;
		goto done;
	}
	ip = iget(&fs->m, e->ino, &err);
	if (!ip)
		goto done;
	if (want_dir && !S_ISDIR(ip->d.mode))
		err = -ENOTDIR;
	else if (!want_dir && S_ISDIR(ip->d.mode))
		err = -EISDIR;
	else if (!want_dir && w.trailing_slash)
		err = -ENOTDIR;
	else if (want_dir && ((err = dir_load(&fs->m, ip)) == 0) && ip->dc->count)
		err = -ENOTEMPTY;
	if (!err)
		err = unlink_entry(fs, &w, e, ip);
	release_inode(fs, ip);
done:
	walk_done(fs, &w);
out:
	ns_unlock(fs);
	return err;
}

int udax_unlink(udax_fs *fs, const char *path)
{
	return remove_common(fs, path, 0);
}

int udax_rmdir(udax_fs *fs, const char *path)
{
	return remove_common(fs, path, 1);
}

int udax_stat(udax_fs *fs, const char *path, struct stat *st)
{
	struct inode *ip = NULL;
	struct stat s;

	ns_lock(fs);
	int err = path_lookup(fs, path, &ip);
	if (!err) {
		meta_lock(&fs->m);
		fill_stat(ip, &s);
		meta_unlock(&fs->m);
		release_inode(fs, ip);
	}
	ns_unlock(fs);
	if (!err)
		*st = s;   /* unlocked: @st may be a udax mapping (udax_fstat) */
	return err;
}

/* ---- directory streams ---- */

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(((const struct udax_dirent *)a)->d_name,
	              ((const struct udax_dirent *)b)->d_name);
}

static int snapshot_dir(struct inode *dp, udax_dir *d)
{
	struct dircache *dc = dp->dc;
	size_t n = 0;

	d->ents = calloc(dc->count ? dc->count : 1, sizeof(*d->ents));
	if (!d->ents)
		return -ENOMEM;
	for (uint32_t b = 0; b < dc->nbuckets; b++) {
		for (struct dcent *e = dc->tab[b]; e; e = e->next) {
			struct udax_dirent *de = &d->ents[n++];
			de->d_ino = e->ino;
			de->d_type = e->type;
			memcpy(de->d_name, e->name, e->len + 1);
		}
	}
	d->n = n;
	/* Name order: stable listings for tools and tests. */
	qsort(d->ents, n, sizeof(*d->ents), cmp_dirent);
	return 0;
}

int udax_opendir(udax_fs *fs, const char *path, udax_dir **out)
{
	struct inode *dp;
	udax_dir *d;

	ns_lock(fs);
	int err = path_lookup(fs, path, &dp);
	if (err)
		goto out;
	err = dir_ready(fs, dp);
	d = err ? NULL : calloc(1, sizeof(*d));
	if (!err && !d)
		err = -ENOMEM;
	if (!err)
		err = snapshot_dir(dp, d);
	if (err) {
		free(d);
	} else {
		d->fs = fs;
		*out = d;
	}
	iput(&fs->m, dp);
out:
	ns_unlock(fs);
	return err;
}

int udax_readdir(udax_dir *d, struct udax_dirent *ent)
{
	if (!d || !ent)
		return -EINVAL;
	if (d->pos >= d->n)
		return 0;
	*ent = d->ents[d->pos++];
	return 1;
}

int udax_closedir(udax_dir *d)
{
	if (!d)
		return -EINVAL;
	free(d->ents);
	free(d);
	return 0;
}
