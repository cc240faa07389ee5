/*
 * Small helpers shared by the unit tests: scratch folders under
 * $PV_TEST_TMP, whole-file reads and writes. Header only, so every test
 * stays one executable built from one test_<module>.c.
 */
#ifndef PV_TEST_H
#define PV_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "powerview/tz.h"

#define PVT_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A zone the test needs, or the test fails naming it. */
static inline pv_tz *
pvt_zone(const char *name)
{
	pv_tz *tz = NULL;
	pv_err err = { "" };

	if (pv_tz_open(&tz, name, &err) != PV_OK)
		fail_msg("%s: %s", name, err.msg);
	return tz;
}

/* Seconds since the epoch of a UTC civil time, from the C library (a reference). */
static inline int64_t
pvt_utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm);
}

/* mkdir -p, for the test's own folders (independent of the library's). */
static inline void
pvt_mkdirs(const char *path)
{
	char *p = strdup(path);

	assert_non_null(p);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
}

/* A fresh folder below $PV_TEST_TMP (or /tmp); free() the result. */
static inline char *
pvt_tmpdir(void)
{
	const char *base = getenv("PV_TEST_TMP");
	char *tmpl;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	pvt_mkdirs(base);
	assert_true(asprintf(&tmpl, "%s/unit.XXXXXX", base) > 0);
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
	return tmpl;
}

static inline int
pvt_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf (does not follow symbolic links). */
static inline void
pvt_rmrf(const char *path)
{
	nftw(path, pvt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<a>/<b>"; free() the result. */
static inline char *
pvt_join(const char *a, const char *b)
{
	char *s;

	assert_true(asprintf(&s, "%s/%s", a, b) > 0);
	return s;
}

/* Writes len bytes to path, creating the parent folders. */
static inline void
pvt_write(const char *path, const char *data, size_t len)
{
	char *dir = strdup(path), *slash;
	int fd;

	assert_non_null(dir);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		pvt_mkdirs(dir);
	}
	free(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0)
			fail_msg("write %s: %s", path, strerror(errno));
		off += (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

static inline void
pvt_write_str(const char *path, const char *text)
{
	pvt_write(path, text, strlen(text));
}

/* The whole file, NUL-terminated, or NULL when it cannot be opened. */
static inline char *
pvt_read(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	assert_non_null(buf);
	for (;;) {
		if (used == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		ssize_t n = read(fd, buf + used, cap - used);
		assert_true(n >= 0);
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
}

static inline bool
pvt_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Number of entries of a folder, "." and ".." left out; -1 when unreadable. */
static inline int
pvt_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* True when haystack contains needle; a readable failure message otherwise. */
#define pvt_assert_contains(haystack, needle)                                           \
	do {                                                                            \
		const char *h_ = (haystack), *n_ = (needle);                            \
		if (h_ == NULL || strstr(h_, n_) == NULL)                               \
			fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_); \
	} while (0)

#endif
