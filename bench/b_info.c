/*
 * b_info.c - machine facts for the report: CPU model, kernel, cores,
 * the file systems really behind the tmpfs and disk directories, the
 * flush instruction udax picked and the non-temporal copy used here.
 */
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

int bench_info(void)
{
	char cpu[256], thp[256], maps[64], flush[32];
	struct utsname u;
	int map_sync;

	first_line_of("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	first_line_of("/sys/kernel/mm/transparent_hugepage/shmem_enabled", NULL, thp, sizeof(thp));
	first_line_of("/proc/sys/vm/max_map_count", NULL, maps, sizeof(maps));
	uname(&u);
	pool_facts(flush, sizeof(flush), &map_sync);
	FILE *csv = csv_open("info", "key,value");
	md_begin("info", "Machine");
	md("| fact | value |\n| --- | --- |\n");
#define FACT(k, fmt, ...) do { \
	md("| %s | " fmt " |\n", k, __VA_ARGS__); \
	fprintf(csv, "\"%s\",\"" fmt "\"\n", k, __VA_ARGS__); } while (0)
	FACT("CPU", "%s", cpu);
	FACT("online CPUs", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	FACT("kernel", "%s %s", u.sysname, u.release);
	FACT("tmpfs dir (pools, tmpfs rows)", "%s (%s)", opt.shm, fs_name(opt.shm));
	FACT("disk dir (ext4 rows)", "%s (%s)", opt.disk, fs_name(opt.disk));
	FACT("shmem huge pages", "%s", thp);
	FACT("vm.max_map_count", "%s", maps);
	FACT("udax flush instruction", "%s%s", flush, map_sync ? ", MAP_SYNC" : "");
	FACT("non-temporal reference copy", "%s", nt_copy_name());
	FACT("mode", "%s, %d repetitions (medians)", opt.quick ? "quick" : "full", opt.reps);
#undef FACT
	md_end();
	fclose(csv);
	return 0;
}
