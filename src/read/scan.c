/* Folder scan: regular *.tsv files, sorted, never inside parsed/ or error/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "powerview/log.h"
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
has_suffix(const char *s, const char *suffix, bool any_case)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && (any_case ? strcasecmp(s + n - k, suffix) : strcmp(s + n - k, suffix)) == 0;
}

void
pv_passed_free(pv_passed_list *p)
{
	for (size_t i = 0; i < p->count; i++) {
		free(p->items[i].path);
		free(p->items[i].reason);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

void
pv_passed_log(const pv_passed_list *passed)
{
	for (size_t i = 0; passed != NULL && i < passed->count; i++) {
		const pv_passed *p = &passed->items[i];

		if (p->kind == PV_PASSED_UNREADABLE)
			pv_warn("%s: skipped: %s", p->path, p->reason);
		else if (p->kind == PV_PASSED_FOLDER)
			pv_warn("%s: %zu files not taken: %s", p->path, p->nb_files, p->reason);
		else if (p->kind == PV_PASSED_FILE)
			pv_warn("%s: not taken: %s", p->path, p->reason);
	}
}

/* Notes what the scan passed over; the index of the note, or -1 without memory. */
static long note(pv_passed_list *p, pv_passed_kind kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static long
note(pv_passed_list *p, pv_passed_kind kind, const char *path, const char *fmt, ...)
{
	pv_passed *it;
	va_list ap;

	if (p == NULL)
		return 0;
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		pv_passed *items = realloc(p->items, cap * sizeof(*items));
		if (items == NULL)
			return -1;
		p->items = items;
		p->cap = cap;
	}
	it = &p->items[p->count];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	va_start(ap, fmt);
	if (vasprintf(&it->reason, fmt, ap) < 0)
		it->reason = NULL;
	va_end(ap);
	if (it->reason == NULL || (it->path = strdup(path)) == NULL) {
		free(it->reason);
		return -1;
	}
	return (long)p->count++;
}

typedef struct scan {
	pv_paths *out;
	pv_passed_list *passed;
	pv_err *err;
} scan;

static const char *const levels[] = { "", "company", "campaign", "device" };

/*
 * One folder, `depth` levels below the data folder. Inside a folder that is
 * passed over (`why` set), the files are counted in *nb and noted, not taken.
 */
static int
walk(scan *sc, int fd, const char *path, int depth, const char *why, size_t *nb)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = PV_OK;

	if (d == NULL) {
		close(fd);
		return pv_fail(sc->err, PV_ENOMEM, "cannot read folder %s: %s", path, strerror(errno));
	}
	while (rc == PV_OK && (e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		char *child, reason[160];
		struct stat st;
		long at = 0;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			bool ours = strcmp(name, "parsed") == 0 || strcmp(name, "error") == 0;
			/* parsed/ and error/ are the parser's own from the device level down */
			if (ours && depth + 1 > 3)
				continue;
		} else if (name[0] == '.') {
			/* hidden files are work in progress: SFTPGo's atomic uploads are
			 * written as .sftpgo-upload.<id>.<name> and renamed once whole */
			continue;
		}
		if (asprintf(&child, "%s/%s", path, name) < 0) {
			rc = pv_fail(sc->err, PV_ENOMEM, "out of memory");
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd = -1;
			size_t n = 0;

			if (why == NULL && name[0] == '.')
				snprintf(reason, sizeof(reason), "hidden folder: the scan does not enter it");
			else if (why == NULL && (strcmp(name, "parsed") == 0 || strcmp(name, "error") == 0))
				snprintf(reason, sizeof(reason),
				    "%s folder named '%s': the scan keeps out of parsed/ and error/", levels[depth + 1],
				    name[0] == 'p' ? "parsed" : "error");
			else
				reason[0] = '\0';
			if (depth + 1 > PV_SCAN_DEPTH_MAX) {
				if (why == NULL)
					at = note(sc->passed, PV_PASSED_FOLDER, child,
					    "more than %d folders deep: not entered", PV_SCAN_DEPTH_MAX);
			} else if ((cfd = openat(dirfd(d), name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				/* a tenant's chmod 000 must not stop every other tenant */
				if (why == NULL)
					at = note(sc->passed, PV_PASSED_UNREADABLE, child, "cannot read the folder: %s",
					    strerror(errno));
			} else if (reason[0] == '\0') {
				rc = walk(sc, cfd, child, depth + 1, why, nb);
			} else if ((at = note(sc->passed, PV_PASSED_FOLDER, child, "%s", reason)) >= 0) {
				rc = walk(sc, cfd, child, depth + 1, reason, &n);
				if (sc->passed != NULL && n > 0)
					sc->passed->items[at].nb_files = n;
				else if (sc->passed != NULL) {
					/* nothing to say of a folder without files (its note is the last one) */
					sc->passed->count--;
					free(sc->passed->items[at].path);
					free(sc->passed->items[at].reason);
				}
			} else
				close(cfd);
		} else if (S_ISREG(st.st_mode) && has_suffix(name, ".tsv", false)) {
			if (why != NULL) {
				(*nb)++;
				at = note(sc->passed, PV_PASSED_IN_FOLDER, child, "%s", why);
			} else if (pv_paths_add(sc->out, child) < 0)
				at = -1;
		} else if (why == NULL && S_ISLNK(st.st_mode)) {
			at = note(sc->passed, PV_PASSED_FILE, child, "symbolic link: not followed");
		} else if (why == NULL && !S_ISREG(st.st_mode) && has_suffix(name, ".tsv", true)) {
			at = note(sc->passed, PV_PASSED_FILE, child, "not a regular file");
		} else if (why == NULL && has_suffix(name, ".tsv", true)) {
			at = note(sc->passed, PV_PASSED_FILE, child, "only names ending in '.tsv' (lower case) are taken");
		}
		if (at < 0 && rc == PV_OK)
			rc = pv_fail(sc->err, PV_ENOMEM, "out of memory");
		free(child);
	}
	closedir(d);
	return rc;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_passed(const void *a, const void *b)
{
	return strcmp(((const pv_passed *)a)->path, ((const pv_passed *)b)->path);
}

int
pv_scan(pv_paths *out, pv_passed_list *passed, const char *dir, pv_err *err)
{
	size_t n = strlen(dir), none = 0;
	char *root = strdup(dir);
	scan sc = { out, passed, err };
	int fd, rc;

	if (root == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	/* the data folder itself may be a link: the administrator's choice */
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = pv_fail(err, PV_EIO, "cannot read folder %s: %s", root, strerror(errno));
	else
		rc = walk(&sc, fd, root, 0, NULL, &none);
	free(root);
	if (rc == PV_OK && out->count > 1)
		qsort(out->items, out->count, sizeof(char *), cmp_path);
	if (rc == PV_OK && passed != NULL && passed->count > 1)
		qsort(passed->items, passed->count, sizeof(pv_passed), cmp_passed);
	return rc;
}
