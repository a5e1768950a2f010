/*
 * salloc.c - size-class allocator over mmap for the fault path (see
 * salloc.h).
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "util/salloc.h"

#define MIN_SHIFT 5                 /* 32 bytes */
#define MAX_SHIFT 12                /* 4 KiB */
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define CHUNK (256u << 10)          /* bytes taken from the kernel at a time */

struct freeobj {
	struct freeobj *next;
};

static struct sclass {
	pthread_mutex_t lock;
	struct freeobj *free;
} classes[NCLASS] = {
	[0 ... NCLASS - 1] = { PTHREAD_MUTEX_INITIALIZER, NULL },
};

static unsigned class_of(size_t n)
{
	unsigned c = 0;
	while (((size_t)1 << (MIN_SHIFT + c)) < n)
		c++;
	return c;
}

static size_t round_pages(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

void *salloc(size_t n)
{
	if (n > ((size_t)1 << MAX_SHIFT)) {
		void *p = mmap(NULL, round_pages(n), PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;   /* fresh pages are zero */
	}
	unsigned c = class_of(n);
	size_t size = (size_t)1 << (MIN_SHIFT + c);
	struct sclass *k = &classes[c];

	pthread_mutex_lock(&k->lock);
	if (!k->free) {
		char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			pthread_mutex_unlock(&k->lock);
			return NULL;
		}
		for (size_t off = CHUNK; off >= size; off -= size) {
			struct freeobj *o = (struct freeobj *)(p + off - size);
			o->next = k->free;
			k->free = o;
		}
	}
	struct freeobj *o = k->free;
	k->free = o->next;
	pthread_mutex_unlock(&k->lock);
	memset(o, 0, size);
	return o;
}

void sfree(void *p, size_t n)
{
	if (!p)
		return;
	if (n > ((size_t)1 << MAX_SHIFT)) {
		munmap(p, round_pages(n));
		return;
	}
	struct sclass *k = &classes[class_of(n)];
	struct freeobj *o = p;
	pthread_mutex_lock(&k->lock);
	o->next = k->free;
	k->free = o;
	pthread_mutex_unlock(&k->lock);
}
