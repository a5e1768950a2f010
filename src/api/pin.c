/*
 * pin.c - udax_pin / udax_unpin: hand a udax mapping to the kernel.
 *
 * A system call that reads or writes a buffer cannot take udax's page
 * faults (they are SIGSEGVs served in user space): a page of a udax
 * mapping that is not present, or present read-only, makes it fail
 * with EFAULT.  udax_pin makes every page of the range present with the
 * access asked for -- each page is probed and, when the probe faults,
 * served by the ordinary fault path, so a write pin is a write fault:
 * the page gets a block and is marked dirty, and fsync flushes what the
 * kernel stores there -- and records the range (vm/pin.c) so that
 * eviction and writeback leave it mapped until udax_unpin.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "api/fs.h"
#include "dax/dax.h"

/* A page that keeps disappearing between the fault and the probe is
 * being truncated or punched away: give up on it. */
#define PIN_TRIES 16

static int populate(struct window *w, char *addr, size_t len, int write)
{
	char *p = (char *)((uintptr_t)addr & ~(uintptr_t)(BLK - 1));

	for (; p < addr + len; p += BLK) {
		for (int tries = 0; vm_probe(p, write); tries++) {
			if (tries == PIN_TRIES)
				return -EFAULT;
			if (vm_fault_enter())
				return -EFAULT;  /* unmounted at exit */
			int r = w->fault(w, p, write);
			vm_fault_exit();
			if (r == VM_SIGBUS)
				return -EFAULT;          /* past end of file */
			if (r == VM_SEGV)
				return -EACCES;
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int udax_pin(udax_fs *fs, void *addr, size_t len, int prot)
{
	if (!fs || !addr || len == 0 || (uintptr_t)addr + len < (uintptr_t)addr)
		return -EINVAL;
	if (!prot || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	struct window *w = vm_find(addr, len);
	if (!w)
		return -ENOMEM;
	int err = 0, write = !!(prot & PROT_WRITE);
	if (w->fault != dax_fault || ((struct dax_inode *)w->owner)->m != &fs->m)
		err = -ENOMEM;                   /* another file system's */
	else if (write && !(w->prot & PROT_WRITE))
		err = -EACCES;
	else
		err = vm_pin_add(addr, len);
	if (!err) {
		err = populate(w, addr, len, write);
		if (err)
			vm_pin_del(addr, len);
	}
	vm_put(w);
	return err;
}

int udax_unpin(udax_fs *fs, void *addr, size_t len)
{
	if (!fs || !addr || len == 0 || (uintptr_t)addr + len < (uintptr_t)addr)
		return -EINVAL;
	return vm_pin_del(addr, len);
}
