/* The shared part of the harnesses (fuzz.h). */
#include "fuzz.h"

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

FILE *fuzz_null;
char fuzz_dir[64]; /* the scratch directory (libFuzzer's own paths stay relative to the cwd) */
static char input_path[96];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* At a normal exit the scratch directory goes (a crash leaves it, with the
 * input that crashed, for a look). */
static void fuzz_cleanup(void)
{
	nftw(fuzz_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_init(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/ipsecsim-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		perror("fuzz: scratch directory");
		exit(1);
	}
	atexit(fuzz_cleanup);
	snprintf(input_path, sizeof(input_path), "%s/input", fuzz_dir);
	fuzz_null = fopen("/dev/null", "w");
	if (!fuzz_null) {
		perror("fuzz: /dev/null");
		exit(1);
	}
}

const char *fuzz_input(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return NULL;
	FILE *f = fopen(input_path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror("fuzz: input");
		exit(1);
	}
	return input_path;
}

bool fuzz_next_record(const uint8_t **data, size_t *size, struct fuzz_record *r)
{
	if (*size < 3)
		return false;
	const uint8_t *d = *data;
	size_t len = (size_t)d[1] << 8 | d[2], left = *size - 3;
	*r = (struct fuzz_record){d[0], d + 3, len < left ? len : left};
	*data += 3 + r->len;
	*size -= 3 + r->len;
	return true;
}

/* A harness with set-up of its own defines this too. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}
