/* Folder scan: regular *.tsv files in path order, never inside parsed/ or error/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
	if (passed != NULL && passed->not_listed > 0)
		pv_warn("%zu more files or folders passed over are not listed (%d at most are)", passed->not_listed,
		    PV_PASSED_MAX);
}

/* What note() returns when it keeps no note: an index is >= 0. */
#define NOT_LISTED (-2) /* a note past PV_PASSED_MAX: counted, not kept */
#define NOT_KEPT (-1)   /* no memory for it: the scan goes on without it */

/* Notes what the scan passed over; the index of the note, NOT_LISTED or NOT_KEPT. */
static long note(pv_passed_list *p, pv_passed_kind kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static long
note(pv_passed_list *p, pv_passed_kind kind, const char *path, const char *fmt, ...)
{
	pv_passed *it;
	va_list ap;

	if (p == NULL)
		return NOT_LISTED;
	if (p->count >= PV_PASSED_MAX) {
		/* a tenant's 100 000 links must not fill the memory or the report */
		p->not_listed++;
		return NOT_LISTED;
	}
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		pv_passed *items = realloc(p->items, cap * sizeof(*items));
		if (items == NULL)
			return NOT_KEPT;
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
		return NOT_KEPT;
	}
	return (long)p->count++;
}

void
pv_passed_add(pv_passed_list *p, pv_passed_kind kind, const char *path, const char *reason)
{
	note(p, kind, path, "%s", reason);
}

static const char *const levels[] = { "", "company", "campaign", "device" };

/* parsed/ and error/ are the parser's own from the device level down */
static bool
ours(const char *name, int depth)
{
	return depth > 3 && (strcmp(name, "parsed") == 0 || strcmp(name, "error") == 0);
}

/*
 * Why folder `name`, `depth` levels below the data folder, is passed over
 * (written to reason), or "" when it is entered. Not for ours().
 */
static void
passed_over(char *reason, size_t n, const char *name, int depth)
{
	if (depth > PV_SCAN_DEPTH_MAX)
		snprintf(reason, n, "more than %d folders deep: not entered", PV_SCAN_DEPTH_MAX);
	else if (name[0] == '.')
		snprintf(reason, n, "hidden folder: the scan does not enter it");
	else if (strcmp(name, "parsed") == 0 || strcmp(name, "error") == 0)
		snprintf(reason, n, "%s folder named '%s': the scan keeps out of parsed/ and error/",
		    levels[depth], name[0] == 'p' ? "parsed" : "error");
	else
		reason[0] = '\0';
}

/* The files the scan takes: regular, "*.tsv" in lower case, not hidden. */
static bool
taken_name(const char *name)
{
	return name[0] != '.' && has_suffix(name, ".tsv", false);
}

static int
cmp_passed(const void *a, const void *b)
{
	return strcmp(((const pv_passed *)a)->path, ((const pv_passed *)b)->path);
}

struct pv_walk {
	/* a list of files (-t): yielded as they are */
	char *const *list;
	size_t nlist, at;
	/* a data folder: the folders from the data folder down to the current one */
	struct level *levels;
	int top; /* index of the current folder, -1 when the walk is over */
	struct timespec now;
	double min_age;
	size_t total, young;
	char *path; /* the path last yielded */
};

/* Modified less than min_age seconds before the walk began: left for a later run. */
static bool
young(const pv_walk *w, const struct stat *st)
{
	return w->min_age > 0 && (double)(w->now.tv_sec - st->st_mtim.tv_sec) +
	    (double)(w->now.tv_nsec - st->st_mtim.tv_nsec) / 1e9 < w->min_age;
}

/*
 * The count: every folder once, the files to take counted (those modified in
 * the last min_age seconds apart), what is passed over noted. Inside a folder
 * that is passed over (`why` set), the files are counted in *nb and noted.
 */
static int
count(pv_walk *w, pv_passed_list *passed, int fd, const char *path, int depth, const char *why, size_t *nb,
    pv_err *err)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = PV_OK;

	if (d == NULL) {
		close(fd);
		return pv_fail(err, PV_ENOMEM, "cannot read folder %s: %s", path, strerror(errno));
	}
	while (rc == PV_OK && (e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		char *child, reason[160];
		struct stat st;
		long at = 0;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) ? ours(name, depth + 1) : name[0] == '.')
			continue; /* hidden files are uploads in progress (SFTPGo's .sftpgo-upload.<id>.<name>) */
		if (asprintf(&child, "%s/%s", path, name) < 0) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd = -1;
			size_t n = 0;

			if (why == NULL)
				passed_over(reason, sizeof(reason), name, depth + 1);
			else
				reason[0] = '\0';
			if (depth + 1 > PV_SCAN_DEPTH_MAX) {
				if (why == NULL)
					at = note(passed, PV_PASSED_FOLDER, child, "%s", reason);
			} else if ((cfd = openat(dirfd(d), name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				/* a tenant's chmod 000 must not stop every other tenant */
				if (why == NULL)
					at = note(passed, PV_PASSED_UNREADABLE, child, "cannot read the folder: %s",
					    strerror(errno));
			} else if (reason[0] == '\0') {
				rc = count(w, passed, cfd, child, depth + 1, why, nb, err);
			} else if ((at = note(passed, PV_PASSED_FOLDER, child, "%s", reason)) >= 0) {
				rc = count(w, passed, cfd, child, depth + 1, reason, &n, err);
				if (n > 0)
					passed->items[at].nb_files = n;
				else {
					/* nothing to say of a folder without files (its note is the last one) */
					passed->count--;
					free(passed->items[at].path);
					free(passed->items[at].reason);
				}
			} else
				close(cfd);
		} else if (S_ISREG(st.st_mode) && taken_name(name)) {
			if (why != NULL) {
				(*nb)++;
				at = note(passed, PV_PASSED_IN_FOLDER, child, "%s", why);
			} else if (!young(w, &st))
				w->total++;
			else
				w->young++;
		} else if (why == NULL && S_ISLNK(st.st_mode)) {
			at = note(passed, PV_PASSED_FILE, child, "symbolic link: not followed");
		} else if (why == NULL && !S_ISREG(st.st_mode) && has_suffix(name, ".tsv", true)) {
			at = note(passed, PV_PASSED_FILE, child, "not a regular file");
		} else if (why == NULL && has_suffix(name, ".tsv", true)) {
			at = note(passed, PV_PASSED_FILE, child, "only names ending in '.tsv' (lower case) are taken");
		}
		if (at == -1 && rc == PV_OK)
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
		free(child);
	}
	closedir(d);
	return rc;
}

/*
 * The walk proper yields a folder's entries in byte order of their paths
 * without holding them all: a folder is read again for each window of at
 * most WINDOW_ENTRIES names (WINDOW_BYTES of text), the smallest ones after
 * the last taken. 20 000 files in one device folder cost some 20 readings
 * of it, and the memory of one window per folder level.
 */
#define WINDOW_ENTRIES 1024
#define WINDOW_BYTES (64 * 1024)

/*
 * A folder's key is its name and a '/': "a-b/x" < "a.tsv" < "a/x" in the
 * paths, so "a-b/" < "a.tsv" < "a/" in one folder.
 */
typedef struct level {
	DIR *d;
	char *path;
	int depth;
	char **win;    /* the window: keys, sorted */
	size_t n, at;  /* its size, the next one to take */
	size_t bytes;
	char *last;    /* the key last taken from this folder, NULL before the first */
	bool whole;    /* the window holds every key after the last: the folder ends with it */
} level;

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keeps the first `keep` keys of the (sorted) window. */
static void
window_cut(level *l, size_t keep)
{
	for (size_t i = keep; i < l->n; i++) {
		if (l->win[i] != NULL)
			l->bytes -= strlen(l->win[i]) + 1;
		free(l->win[i]);
		l->win[i] = NULL;
	}
	l->n = keep;
}

/* The keys of the window are too many or too long: only the smaller half stays. */
static void
window_halve(level *l)
{
	size_t keep = 0, bytes = 0;

	qsort(l->win, l->n, sizeof(char *), cmp_key);
	while (keep < l->n && keep < WINDOW_ENTRIES && bytes + strlen(l->win[keep]) + 1 <= WINDOW_BYTES)
		bytes += strlen(l->win[keep++]) + 1;
	window_cut(l, keep > 0 ? keep : 1);
}

/* Reads the folder again for the next window: the smallest keys after l->last. */
static int
window_fill(level *l, pv_err *err)
{
	struct dirent *e;
	const char *bound = NULL; /* once the window was cut: only keys below its largest one */
	char key[NAME_MAX + 2];

	window_cut(l, 0);
	l->at = 0;
	l->whole = true;
	rewinddir(l->d);
	errno = 0;
	while ((e = readdir(l->d)) != NULL) {
		const char *name = e->d_name;
		bool dir;
		size_t len = strlen(name);
		struct stat st;

		if (name[0] == '.' || len > NAME_MAX)
			continue; /* hidden, ".", "..": never entered nor taken */
		if (e->d_type == DT_DIR || e->d_type == DT_REG)
			dir = e->d_type == DT_DIR;
		else if (e->d_type != DT_UNKNOWN || fstatat(dirfd(l->d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
			dir = S_ISDIR(st.st_mode);
		else
			continue;
		if (dir ? strcmp(name, "parsed") == 0 || strcmp(name, "error") == 0 ||
		    l->depth + 1 > PV_SCAN_DEPTH_MAX : !taken_name(name))
			continue; /* passed over (and noted by the count) */
		memcpy(key, name, len + 1);
		if (dir)
			memcpy(key + len++, "/", 2);
		if ((l->last != NULL && strcmp(key, l->last) <= 0) || (bound != NULL && strcmp(key, bound) >= 0))
			continue;
		if ((l->win[l->n] = strdup(key)) == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		l->bytes += len + 1;
		if (++l->n == 2 * WINDOW_ENTRIES || l->bytes > 2 * WINDOW_BYTES) {
			window_halve(l);
			bound = l->win[l->n - 1];
			l->whole = false;
		}
		errno = 0;
	}
	if (errno != 0)
		return pv_fail(err, PV_EIO, "cannot read folder %s: %s", l->path, strerror(errno));
	qsort(l->win, l->n, sizeof(char *), cmp_key);
	if (l->n > WINDOW_ENTRIES || l->bytes > WINDOW_BYTES) {
		window_halve(l);
		l->whole = false;
	}
	return PV_OK;
}

/* Enters a folder (fd: open on it), below the current one. */
static int
push(pv_walk *w, int fd, char *path, pv_err *err)
{
	level *l = &w->levels[w->top + 1];

	memset(l, 0, sizeof(*l));
	l->path = path;
	l->depth = w->top + 1;
	if ((l->d = fdopendir(fd)) == NULL) {
		pv_fail(err, PV_ENOMEM, "cannot read folder %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return PV_ENOMEM;
	}
	if ((l->win = calloc(2 * WINDOW_ENTRIES, sizeof(char *))) == NULL) {
		closedir(l->d);
		free(path);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	w->top++;
	return PV_OK;
}

static void
pop(pv_walk *w)
{
	level *l = &w->levels[w->top--];

	window_cut(l, 0);
	free(l->win);
	free(l->last);
	free(l->path);
	closedir(l->d);
}

int
pv_walk_open(pv_walk **out, const char *dir, double min_age, pv_passed_list *passed, pv_err *err)
{
	pv_walk *w = calloc(1, sizeof(*w));
	size_t n = strlen(dir), none = 0;
	char *root = strdup(dir);
	int fd, rc = PV_OK;

	*out = NULL;
	if (w == NULL || root == NULL ||
	    (w->levels = calloc(PV_SCAN_DEPTH_MAX + 1, sizeof(level))) == NULL) {
		free(root);
		pv_walk_free(w);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	w->top = -1;
	w->min_age = min_age;
	clock_gettime(CLOCK_REALTIME, &w->now);
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	/* the data folder itself may be a link: the administrator's choice */
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = pv_fail(err, PV_EIO, "cannot read folder %s: %s", root, strerror(errno));
	else if ((rc = count(w, passed, fd, root, 0, NULL, &none, err)) == PV_OK &&
	    (fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = pv_fail(err, PV_EIO, "cannot read folder %s: %s", root, strerror(errno));
	else if (rc == PV_OK) {
		rc = push(w, fd, root, err);
		root = NULL;
	}
	free(root);
	if (rc == PV_OK && passed != NULL && passed->count > 1)
		qsort(passed->items, passed->count, sizeof(pv_passed), cmp_passed);
	if (rc < 0) {
		pv_walk_free(w);
		return rc;
	}
	*out = w;
	return PV_OK;
}

int
pv_walk_list(pv_walk **out, char *const *files, size_t n, pv_err *err)
{
	pv_walk *w = calloc(1, sizeof(*w));

	*out = w;
	if (w == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	w->list = files;
	w->nlist = w->total = n;
	w->top = -1;
	return PV_OK;
}

int
pv_walk_next(pv_walk *w, const char **path, pv_err *err)
{
	int rc;

	free(w->path);
	w->path = NULL;
	if (w->list != NULL || w->levels == NULL) {
		if (w->at >= w->nlist)
			return 0;
		*path = w->list[w->at++];
		return 1;
	}
	while (w->top >= 0) {
		level *l = &w->levels[w->top];
		char *key, *child;
		size_t len;
		struct stat st;
		int fd;

		if (l->at == l->n) {
			/* the window is done with: the folder too, or the next window */
			if (l->whole)
				pop(w);
			else if ((rc = window_fill(l, err)) == PV_EIO && w->top > 0) {
				/* one tenant's broken folder must not stop the others */
				pv_warn("%s", err->msg);
				pop(w);
			} else if (rc < 0)
				return rc;
			else if (l->n == 0)
				pop(w);
			continue;
		}
		key = l->win[l->at];
		l->win[l->at++] = NULL;
		free(l->last);
		l->last = key;
		len = strlen(key);
		l->bytes -= len + 1;
		if (asprintf(&child, "%s/%.*s", l->path, (int)(key[len - 1] == '/' ? len - 1 : len), key) < 0)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		if (key[len - 1] == '/') {
			key[len - 1] = '\0';
			fd = openat(dirfd(l->d), key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			key[len - 1] = '/';
			if (fd < 0) {
				free(child); /* replaced or made unreadable since the count: noted by the next run */
				continue;
			}
			if ((rc = push(w, fd, child, err)) < 0)
				return rc;
			continue;
		}
		/* a file modified since the walk began waits for a later run, as the count said */
		if (fstatat(dirfd(l->d), key, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || young(w, &st)) {
			free(child);
			continue;
		}
		*path = w->path = child;
		return 1;
	}
	return 0;
}

size_t
pv_walk_total(const pv_walk *w)
{
	return w->total;
}

size_t
pv_walk_young(const pv_walk *w)
{
	return w->young;
}

void
pv_walk_free(pv_walk *w)
{
	if (w == NULL)
		return;
	while (w->levels != NULL && w->top >= 0)
		pop(w);
	free(w->levels);
	free(w->path);
	free(w);
}

int
pv_scan(pv_paths *out, pv_passed_list *passed, const char *dir, pv_err *err)
{
	pv_walk *w;
	const char *path;
	int rc;

	if ((rc = pv_walk_open(&w, dir, 0, passed, err)) < 0)
		return rc;
	while ((rc = pv_walk_next(w, &path, err)) > 0)
		if (pv_paths_add(out, path) < 0) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
	pv_walk_free(w);
	return rc < 0 ? rc : PV_OK;
}
