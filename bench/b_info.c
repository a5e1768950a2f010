/*
 * b_info.c - machine facts for the report: CPU model, kernel, cores,
 * the file systems really behind the tmpfs and disk directories, the
 * flush instruction udax picked and the non-temporal copy used here,
 * and the cost of the primitives a user-space fault is made of (on a
 * virtual machine these can be far from bare-metal figures).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

static void first_line_of(const char *path, const char *key, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[512];

	snprintf(out, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (key && strncmp(line, key, strlen(key)))
			continue;
		char *v = line;
		if (key) {
			v = strchr(line, ':');
			if (!v)
				continue;
			v += strspn(v, ": \t");
		}
		size_t n = strcspn(v, "\n");
		if (n >= len)
			n = len - 1;
		memcpy(out, v, n);
		out[n] = 0;
		break;
	}
	fclose(f);
}

static const char *fs_name(const char *dir)
{
	struct statfs s;
	if (statfs(dir, &s) < 0)
		return "unknown";
	switch ((unsigned long)s.f_type) {
	case 0x01021994: return "tmpfs";
	case 0xEF53: return "ext4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x794c7630: return "overlayfs";
	default: return "other";
	}
}

static void pool_facts(char *flush, size_t len, int *map_sync)
{
	struct upool p;
	struct udax_info in;

	upool_make(&p, "info.pool", 16 * MiB, NULL);
	UCHECK(udax_info(p.fs, &in));
	snprintf(flush, len, "%s", in.flush_insn);
	*map_sync = in.map_sync;
	upool_drop(&p);
}

/* ns per page: first load from pages just mapped and populated by the
 * kernel, and a second pass over the same pages. */
static void probe_first_touch(double *first, double *again)
{
	size_t len = 64 * MiB;
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
	               -1, 0);
	if (a == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	for (int pass = 0; pass < 2; pass++) {
		uint64_t t0 = cpu_ns();
		touch_pages(a, len);
		*(pass ? again : first) = (double)(cpu_ns() - t0) / (double)(len / PAGE);
	}
	munmap(a, len);
}

static char *probe_page;
static void probe_handler(int sig)
{
	(void)sig;
	mprotect(probe_page, PAGE, PROT_READ | PROT_WRITE);
}

/* us per SIGSEGV round trip (fault, handler, mprotect, return). */
static double probe_sigsegv(void)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old;
	int n = 2000;

	probe_page = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (probe_page == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	sigaction(SIGSEGV, &sa, &old);
	uint64_t t0 = cpu_ns();
	for (int i = 0; i < n; i++) {
		mprotect(probe_page, PAGE, PROT_NONE);
		*(volatile char *)probe_page = 1;
	}
	double us = (double)(cpu_ns() - t0) / 1e3 / n;
	sigaction(SIGSEGV, &old, NULL);
	munmap(probe_page, PAGE);
	return us;
}

/* us per mmap(MAP_FIXED|MAP_POPULATE) of one 4 KiB page of a tmpfs
 * file over a reserved range, the way udax installs a page. */
static double probe_install(void)
{
	char path[512];
	int n = 2000;

	scratch_path(path, sizeof(path), opt.shm, "probe");
	int fd = kfile_create(path, n * PAGE, 0);
	char *win = mmap(NULL, n * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (win == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	uint64_t t0 = cpu_ns();
	for (int i = 0; i < n; i += 2)       /* every other page: one VMA each */
		if (mmap(win + i * PAGE, PAGE, PROT_READ | PROT_WRITE,
		         MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, (off_t)(i * PAGE)) == MAP_FAILED)
			die("mmap: %s", strerror(errno));
	double us = (double)(cpu_ns() - t0) / 1e3 / (n / 2);
	munmap(win, n * PAGE);
	close(fd);
	scratch_remove(path);
	return us;
}

/* ns per read of the thread CPU-time clock (a system call here). */
static volatile uint64_t clock_sink;
static double probe_cpu_clock(void)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < 1000; i++)
		clock_sink += cpu_ns();
	return (double)(now_ns() - t0) / 1000;
}

int bench_info(void)
{
	char cpu[256], fam[16], model[16], thp[256], maps[64], flush[32];
	struct utsname u;
	int map_sync;

	first_line_of("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	first_line_of("/proc/cpuinfo", "cpu family", fam, sizeof(fam));
	first_line_of("/proc/cpuinfo", "model\t", model, sizeof(model));
	first_line_of("/sys/kernel/mm/transparent_hugepage/shmem_enabled", NULL, thp, sizeof(thp));
	first_line_of("/proc/sys/vm/max_map_count", NULL, maps, sizeof(maps));
	uname(&u);
	pool_facts(flush, sizeof(flush), &map_sync);
	double first = 0, again = 0, segv = probe_sigsegv(), inst = probe_install();
	probe_first_touch(&first, &again);
	FILE *csv = csv_open("info", "key,value");
	md_begin("info", "Machine");
	md("| fact | value |\n| --- | --- |\n");
#define FACT(k, fmt, ...) do { \
	md("| %s | " fmt " |\n", k, __VA_ARGS__); \
	fprintf(csv, "\"%s\",\"" fmt "\"\n", k, __VA_ARGS__); } while (0)
	FACT("CPU", "%s (family %s, model %s)", cpu, fam, model);
	FACT("online CPUs", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	FACT("kernel", "%s %s", u.sysname, u.release);
	FACT("tmpfs dir (pools, tmpfs rows)", "%s (%s)", opt.shm, fs_name(opt.shm));
	FACT("disk dir (ext4 rows)", "%s (%s)", opt.disk, fs_name(opt.disk));
	FACT("shmem huge pages", "%s", thp);
	FACT("vm.max_map_count", "%s", maps);
	FACT("udax flush instruction", "%s%s", flush, map_sync ? ", MAP_SYNC" : "");
	FACT("non-temporal reference copy", "%s", nt_copy_name());
	FACT("first load from a freshly mapped, populated page", "%.0f ns/page (second pass %.0f)",
	     first, again);
	FACT("SIGSEGV round trip (fault, handler, mprotect)", "%.2f us", segv);
	FACT("mmap(MAP_FIXED + MAP_POPULATE) of one 4 KiB tmpfs page", "%.2f us", inst);
	FACT("read of the thread CPU-time clock (times bulk phases)", "%.0f ns", probe_cpu_clock());
	FACT("mode", "%s, %d repetitions (medians)", opt.quick ? "quick" : "full", opt.reps);
#undef FACT
	md_end();
	fclose(csv);
	return 0;
}
