/* Folder scan: regular *.tsv files, sorted, never inside parsed/ or error/. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "powerview/scan.h"

int
pv_paths_add(pv_paths *p, const char *path)
{
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		char **items = realloc(p->items, cap * sizeof(char *));
		if (items == NULL)
			return PV_ENOMEM;
		p->items = items;
		p->cap = cap;
	}
	if ((p->items[p->count] = strdup(path)) == NULL)
		return PV_ENOMEM;
	p->count++;
	return PV_OK;
}

void
pv_paths_free(pv_paths *p)
{
	for (size_t i = 0; i < p->count; i++)
		free(p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

void
pv_paths_keep_older(pv_paths *p, double seconds, size_t *dropped)
{
	struct timespec now;
	size_t kept = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	*dropped = 0;
	for (size_t i = 0; i < p->count; i++) {
		struct stat st;
		bool there = lstat(p->items[i], &st) == 0;
		bool keep = there && (seconds <= 0 || (double)(now.tv_sec - st.st_mtim.tv_sec) +
			(double)(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9 >= seconds);
		if (keep) {
			p->items[kept++] = p->items[i];
		} else {
			free(p->items[i]);
			*dropped += there; /* a vanished one is no one's to wait for */
		}
	}
	p->count = kept;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

static int
walk(pv_paths *out, const char *dir, pv_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = PV_OK;

	if (d == NULL)
		return pv_fail(err, PV_EIO, "cannot read folder %s: %s", dir, strerror(errno));
	while (rc == PV_OK && (e = readdir(d)) != NULL) {
		char *path;
		struct stat st;

		/* hidden names are work in progress: SFTPGo's atomic uploads are
		 * written as .sftpgo-upload.<id>.<name> and renamed once whole */
		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			return closedir(d), pv_fail(err, PV_ENOMEM, "out of memory");
		/* lstat: links are neither followed nor taken */
		if (lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				if (strcmp(e->d_name, "parsed") != 0 && strcmp(e->d_name, "error") != 0)
					rc = walk(out, path, err);
			} else if (S_ISREG(st.st_mode) && has_suffix(e->d_name, ".tsv")) {
				if (pv_paths_add(out, path) < 0)
					rc = pv_fail(err, PV_ENOMEM, "out of memory");
			}
		}
		free(path);
	}
	closedir(d);
	return rc;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
pv_scan(pv_paths *out, const char *dir, pv_err *err)
{
	size_t n = strlen(dir);
	char *root = strdup(dir);
	int rc;

	if (root == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	rc = walk(out, root, err);
	free(root);
	if (rc == PV_OK && out->count > 1)
		qsort(out->items, out->count, sizeof(char *), cmp_path);
	return rc;
}
