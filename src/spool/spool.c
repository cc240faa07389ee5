/* The spool: copy on arrival, ingest the copy (see spool.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "powerview/log.h"
#include "powerview/path.h"
#include "powerview/place.h"
#include "powerview/report.h"
#include "powerview/settle.h"
#include "powerview/spool.h"

#define WINDOW 1024        /* copies held per pass over the spool */
#define ID_MAX (PATH_MAX + 512) /* a .id file: a path and a few numbers; no more is read */
#define SLOTS_MAX 1000     /* "f.tsv", "f.tsv~1", ..., "f.tsv~999" */
#define DEPTH_MAX 72       /* below the spool: the scan's 64, and some */
#define STALE_S 60         /* a temporary file older than this, and unlocked, is a dead spooler's */

/* A copy and when it was made: the order of the worker. */
typedef struct key {
	struct timespec t;
	char *copy;
} key;

struct pv_spool {
	char *dir;       /* the spool folder, links resolved */
	char *data;      /* the data folder, as given: the originals' paths */
	int fd;          /* the spool folder */
	int lock;        /* .lock: short steps that add or remove copies */
	int worker;      /* .worker.lock, held by the worker; -1 */
	bool batch;      /* no fsync per copy: one pv_spool_sync after many */
	int cdir;        /* the folder of the last copy, kept open; -1 */
	char *cdir_rel;  /* its path below the spool, with its '/' */
	bool started;    /* a key was yielded: `cursor` is set */
	key cursor;      /* the last copy yielded */
	key win[WINDOW]; /* the pass's next copies, oldest first */
	size_t nwin, pos;
};

void
pv_spool_entry_free(pv_spool_entry *e)
{
	if (e == NULL)
		return;
	free(e->copy);
	free(e->path);
	free(e);
}

char *
pv_spool_default_dir(const char *data_dir)
{
	char *real = realpath(data_dir, NULL), *out = NULL;

	if (real != NULL && asprintf(&out, "%s/spool", dirname(real)) < 0)
		out = NULL;
	free(real);
	return out;
}

const char *
pv_spool_dir(const pv_spool *sp)
{
	return sp->dir;
}

/* ---------------------------------------------------------------- locks */

/* Waits for an exclusive lock on fd: false, with errno, when it cannot be had. */
static bool
lock_wait(int fd)
{
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void
unlock(int fd)
{
	flock(fd, LOCK_UN);
}

/* The lock file `name` in `dir`, created: an fd, or -1 with errno. */
static int
open_lock(int dir, const char *name)
{
	return openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* ---------------------------------------------------------------- open */

/*
 * The spool must not lie in the data folder, where a tenant could read or
 * plant copies: checked on the nearest folder that exists, links resolved,
 * before anything is created.
 */
static int
outside(const char *dir, const char *data_real, pv_err *err)
{
	char *abs = pv_path_absolute(dir), *real = NULL, *cut;
	size_t n = strlen(data_real);
	int rc = PV_OK;

	if (abs == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	/* the rest, below the folder that exists, is lexical: no link can be there yet */
	for (cut = abs + strlen(abs);; ) {
		char c = *cut;
		*cut = '\0';
		real = realpath(abs[0] ? abs : "/", NULL);
		*cut = c;
		if (real != NULL || cut == abs)
			break;
		while (cut > abs && *--cut != '/')
			;
	}
	if (real != NULL) {
		char *full = NULL;
		if (asprintf(&full, "%s%s", strcmp(real, "/") == 0 ? "" : real, cut) < 0)
			full = NULL;
		if (full != NULL && strncmp(full, data_real, n) == 0 &&
		    (full[n] == '/' || full[n] == '\0' || n == 1))
			rc = pv_fail(err, PV_ECONFIG,
			    "the spool folder %s is inside the data folder %s, where tenants write: "
			    "set TSV_SPOOL_DIR (spool.dir) outside it", full, data_real);
		free(full);
	}
	free(real);
	free(abs);
	return rc;
}

/*
 * A spool serves one data folder: its .id files hold paths below it. The
 * first to open the spool writes the data folder into .data; another data
 * folder (two sites side by side, with the default ../spool) is refused.
 * Called under .lock: .data is written through a fixed temporary name, which
 * a process killed meanwhile leaves for the next worker to tidy.
 */
static int
owner_check(pv_spool *sp, const char *data_real, pv_err *err)
{
	char buf[PATH_MAX + 2];
	ssize_t n = -1;
	int fd = openat(sp->fd, ".data", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	} else if (errno != ENOENT) {
		return pv_fail(err, PV_EIO, "cannot read %s/.data: %s", sp->dir, strerror(errno));
	}
	if (n < 0) {
		char line[PATH_MAX + 2];
		int k = snprintf(line, sizeof(line), "%s\n", data_real);

		fd = openat(sp->fd, ".data.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || pv_write_all(fd, line, (size_t)k) < 0 || fsync(fd) < 0 || close(fd) < 0 ||
		    (fd = -1, renameat(sp->fd, ".data.tmp", sp->fd, ".data") < 0) || fsync(sp->fd) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return pv_fail(err, PV_EIO, "cannot write %s/.data: %s", sp->dir, strerror(e));
		}
		return PV_OK;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, data_real) != 0)
		return pv_fail(err, PV_ECONFIG,
		    "the spool folder %s serves the data folder %s, not %s: give each data folder "
		    "its own (TSV_SPOOL_DIR, spool.dir)", sp->dir, buf, data_real);
	return PV_OK;
}

int
pv_spool_open(pv_spool **out, const char *dir, const char *data_dir, pv_err *err)
{
	pv_spool *sp = calloc(1, sizeof(*sp));
	char *data_real = NULL;
	struct stat st;
	int rc = PV_OK;

	*out = NULL;
	if (sp == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	sp->fd = sp->lock = sp->worker = sp->cdir = -1;
	if ((sp->data = strdup(data_dir)) == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if ((data_real = realpath(data_dir, NULL)) == NULL) {
		rc = pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "data folder %s: %s",
		    data_dir, strerror(errno));
		goto out;
	}
	if ((rc = outside(dir, data_real, err)) < 0)
		goto out;
	/* the service's own folder: only its user reads the copies */
	char *parent = strdup(dir);
	if (parent == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	rc = pv_mkdirs(dirname(parent), err);
	free(parent);
	if (rc < 0)
		goto out;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = pv_fail(err, PV_EIO, "cannot create the spool folder %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((sp->dir = realpath(dir, NULL)) == NULL) {
		rc = pv_fail(err, PV_EIO, "spool folder %s: %s", dir, strerror(errno));
		goto out;
	}
	/* made meanwhile through a link into the data folder? */
	if ((rc = outside(sp->dir, data_real, err)) < 0)
		goto out;
	if ((sp->fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(sp->fd, &st) < 0) {
		rc = pv_fail(err, PV_EIO, "cannot open the spool folder %s: %s", sp->dir, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 077) != 0 && fchmod(sp->fd, 0700) < 0)
		pv_warn("spool folder %s: mode %03o, and it cannot be made 0700: %s", sp->dir,
		    (unsigned)(st.st_mode & 0777), strerror(errno));
	if ((sp->lock = open_lock(sp->fd, ".lock")) < 0 || !lock_wait(sp->lock)) {
		rc = pv_fail(err, PV_EIO, "cannot open %s/.lock: %s", sp->dir, strerror(errno));
		goto out;
	}
	rc = owner_check(sp, data_real, err);
	unlock(sp->lock);
out:
	free(data_real);
	if (rc < 0)
		pv_spool_free(sp);
	else
		*out = sp;
	return rc;
}

static void
window_clear(pv_spool *sp)
{
	for (size_t i = 0; i < sp->nwin; i++)
		free(sp->win[i].copy);
	sp->nwin = sp->pos = 0;
}

void
pv_spool_free(pv_spool *sp)
{
	if (sp == NULL)
		return;
	window_clear(sp);
	free(sp->cursor.copy);
	if (sp->worker >= 0)
		close(sp->worker);
	if (sp->cdir >= 0)
		close(sp->cdir);
	free(sp->cdir_rel);
	if (sp->lock >= 0)
		close(sp->lock);
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->dir);
	free(sp->data);
	free(sp);
}

/* ---------------------------------------------------------------- identity */

static void
identity_of(pv_identity *id, const struct stat *st)
{
	id->dev = (unsigned long long)st->st_dev;
	id->ino = (unsigned long long)st->st_ino;
	id->size = (long long)st->st_size;
	id->mtime = st->st_mtim;
}

static bool
identity_eq(const pv_identity *a, const pv_identity *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/*
 * The .id file: one "key value" line each, the original's path last and to
 * the end of the file, byte for byte (a tenant's name may hold a newline or
 * bytes that are not UTF-8: it must name the very same file).
 */
static char *
id_text(const char *rel, const pv_identity *id, const struct timespec *queued)
{
	char when[40], *text;

	pv_report_isotime(when, sizeof(when), queued->tv_sec, queued->tv_nsec / 1000);
	if (asprintf(&text, "dev %llu\nino %llu\nsize %lld\nmtime %lld.%09ld\nqueued %s\noriginal %s",
	    id->dev, id->ino, id->size, (long long)id->mtime.tv_sec, id->mtime.tv_nsec, when, rel) < 0)
		return NULL;
	return text;
}

/* Reads `.id/<copy>`: PV_OK, PV_ENOENT (none), PV_EDATA (not one of ours). */
static int
id_read(int dir, const char *copy, char **rel, pv_identity *id, pv_err *err)
{
	char name[PATH_MAX], buf[ID_MAX + 1], *orig;
	long long sec;
	long nsec;
	ssize_t n;
	int fd, rc = PV_EDATA;

	if (snprintf(name, sizeof(name), ".id/%s", copy) >= (int)sizeof(name))
		return pv_fail(err, PV_EDATA, "%s: name too long", copy);
	if ((fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: %s", name, strerror(errno));
	n = read(fd, buf, ID_MAX + 1);
	close(fd);
	if (n < 0 || n > ID_MAX) {
		pv_fail(err, PV_EDATA, "the .id of %s: unreadable or too large", copy);
		goto out;
	}
	buf[n] = '\0';
	if (sscanf(buf, "dev %llu\nino %llu\nsize %lld\nmtime %lld.%9ld\n", &id->dev, &id->ino,
	    &id->size, &sec, &nsec) != 5 || (orig = strstr(buf, "\noriginal ")) == NULL ||
	    orig[10] == '\0' || orig[10] == '/' || strlen(orig + 10) != (size_t)(buf + n - orig - 10)) {
		pv_fail(err, PV_EDATA, "the .id of %s: not one of ours", copy);
		goto out;
	}
	id->mtime.tv_sec = (time_t)sec;
	id->mtime.tv_nsec = nsec;
	if (rel != NULL && (*rel = strdup(orig + 10)) == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	rc = PV_OK;
out:
	return rc;
}

/* ---------------------------------------------------------------- adding */

/* The scan's rules for a path below the data folder; NULL when it is one to take. */
static const char *
rel_problem(const char *rel)
{
	const char *p = rel, *slash;
	size_t n;

	while ((slash = strchr(p, '/')) != NULL) {
		n = (size_t)(slash - p);
		if (p[0] == '.')
			return "is inside a hidden folder";
		if ((n == 6 && memcmp(p, "parsed", 6) == 0) || (n == 5 && memcmp(p, "error", 5) == 0))
			return "is inside a parsed/ or error/ folder";
		p = slash + 1;
	}
	n = strlen(p);
	if (p[0] == '.')
		return "is hidden (an upload in progress)";
	if (n < 5 || strcmp(p + n - 4, ".tsv") != 0)
		return "is not a .tsv file (only names ending in '.tsv', lower case, are taken)";
	return NULL;
}

/* The folder of `rel` below the spool, made (0700) and opened; -1 with errno. */
static int
open_folder(int root, const char *rel, bool create)
{
	char *copy = strdup(rel), *p, *slash;
	int dir = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (copy == NULL || dir < 0) {
		free(copy);
		if (dir >= 0)
			close(dir);
		errno = ENOMEM;
		return -1;
	}
	for (p = copy; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		int next;
		*slash = '\0';
		if (create && mkdirat(dir, p, 0700) < 0 && errno != EEXIST)
			goto fail;
		if ((next = openat(dir, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			goto fail;
		close(dir);
		dir = next;
	}
	free(copy);
	return dir;
fail:;
	int e = errno;
	close(dir);
	free(copy);
	errno = e;
	return -1;
}

static const char *base_name(const char *rel);

/*
 * The folder of `rel`, kept open for the next copy (a scan's copies come a
 * device folder at a time): borrowed, not to be closed; -1 with errno. One
 * removed meanwhile (no link left) is opened anew.
 */
static int
folder(pv_spool *sp, const char *rel, bool create)
{
	size_t n = (size_t)(base_name(rel) - rel);
	struct stat st;

	if (sp->cdir >= 0 && strlen(sp->cdir_rel) == n && strncmp(sp->cdir_rel, rel, n) == 0 &&
	    fstat(sp->cdir, &st) == 0 && st.st_nlink > 0)
		return sp->cdir;
	if (sp->cdir >= 0)
		close(sp->cdir);
	free(sp->cdir_rel);
	sp->cdir_rel = NULL;
	if ((sp->cdir = open_folder(sp->fd, rel, create)) >= 0 && (sp->cdir_rel = strndup(rel, n)) == NULL) {
		close(sp->cdir);
		sp->cdir = -1;
		errno = ENOMEM;
	}
	return sp->cdir;
}

static const char *
base_name(const char *rel)
{
	const char *s = strrchr(rel, '/');

	return s ? s + 1 : rel;
}

/*
 * A new file in the spool, not yet visible: an unnamed one (O_TMPFILE), or
 * where the file system has none, ".tmp.XXXXXX" held locked while written.
 */
typedef struct tmpfile_ {
	int fd;
	char name[32]; /* "" for an unnamed one */
} tmpfile_;

/* A new file in the spool into t: false, with errno, when none can be made. */
static bool
tmp_create(tmpfile_ *t, int root)
{
	t->name[0] = '\0';
	/* an unnamed file is linked through /proc/self/fd: without /proc, a named one */
	if (access("/proc/self/fd", X_OK) == 0 &&
	    (t->fd = openat(root, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
		return true;
	for (int i = 0; i < 100; i++) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		snprintf(t->name, sizeof(t->name), ".tmp.%06lx%04x", (unsigned long)(tv.tv_usec ^ (getpid() << 4)) & 0xffffff,
		    (unsigned)(rand() & 0xffff));
		if ((t->fd = openat(root, t->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
			flock(t->fd, LOCK_EX);
			return true;
		}
		if (errno != EEXIST)
			break;
	}
	t->name[0] = '\0';
	return false;
}

static void
tmp_drop(tmpfile_ *t, int root)
{
	if (t->fd < 0)
		return;
	if (t->name[0] != '\0')
		unlinkat(root, t->name, 0);
	close(t->fd);
	t->fd = -1;
}

/*
 * Gives the finished temporary file its name `name` in `dir`, never
 * replacing one: false, with errno (EEXIST), when it cannot.
 */
static bool
tmp_link(tmpfile_ *t, int root, int dir, const char *name)
{
	char proc[64];

	if (t->name[0] == '\0') {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
		return linkat(AT_FDCWD, proc, dir, name, AT_SYMLINK_FOLLOW) == 0;
	}
	if (linkat(root, t->name, dir, name, 0) < 0)
		return false;
	unlinkat(root, t->name, 0);
	t->name[0] = '\0';
	return true;
}

/* How copy_bytes ended. */
typedef enum copied {
	COPY_EXACT,   /* exactly the bytes expected */
	COPY_CHANGED, /* more or fewer: the file changed */
	COPY_EREAD,   /* a read failed: *in_errno says why */
	COPY_EWRITE   /* a write failed: errno says why */
} copied;

/* Copies what `in` holds into `out`, which should be `size` bytes. */
static copied
copy_bytes(int in, int out, long long size, int *in_errno)
{
	static char buf[128 * 1024];
	long long total = 0;

	*in_errno = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*in_errno = errno;
			return COPY_EREAD;
		}
		if (n == 0)
			break;
		if (pv_write_all(out, buf, (size_t)n) < 0)
			return COPY_EWRITE;
		total += n;
	}
	return total == size ? COPY_EXACT : COPY_CHANGED;
}

/* A copy of the same upload in `dir`, or the first free name for a new one (*slot). */
static int
find_slot(int dir, const char *name, const pv_identity *id, char *slot, size_t size, bool *same, pv_err *err)
{
	struct stat st;

	*same = false;
	for (int k = 0; k < SLOTS_MAX; k++) {
		pv_identity other;
		pv_err e2;
		char suffix[8] = "";
		if (k > 0)
			snprintf(suffix, sizeof(suffix), "~%d", k);
		/* a name of 255 bytes still gets its "~1": shortened, the .id keeps the original */
		size_t keep = strlen(name);
		if (keep + strlen(suffix) > NAME_MAX)
			keep = NAME_MAX - strlen(suffix);
		if (size <= NAME_MAX)
			return pv_fail(err, PV_EIO, "%s: no room for a spool name", name);
		snprintf(slot, size, "%.*s%s", (int)keep, name, suffix);
		if (fstatat(dir, slot, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				return PV_OK;
			return pv_fail(err, PV_EIO, "spool copy %s: %s", slot, strerror(errno));
		}
		if (id_read(dir, slot, NULL, &other, &e2) == PV_OK && identity_eq(&other, id)) {
			*same = true;
			return PV_OK;
		}
	}
	return pv_fail(err, PV_ETEMP, "%s: %d uploads of that name wait already: left for a later run", name, SLOTS_MAX);
}

/*
 * The time of a new copy, under the spool's lock: after every copy before
 * it (.queued holds the last one), even when the clock stepped back. The
 * worker's order, and its cursor, rest on it.
 */
static void
commit_time(int root, struct timespec *now)
{
	char buf[64] = "";
	long long sec;
	long nsec;
	int fd = openat(root, ".queued", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	clock_gettime(CLOCK_REALTIME, now);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || (buf[n] = '\0', sscanf(buf, "%lld.%9ld", &sec, &nsec)) != 2)
		return;
	if (now->tv_sec < sec || (now->tv_sec == sec && now->tv_nsec <= nsec)) {
		now->tv_sec = (time_t)sec;
		now->tv_nsec = nsec + 1;
		if (now->tv_nsec >= 1000000000L) {
			now->tv_sec++;
			now->tv_nsec = 0;
		}
	}
}

/* Tells a systemd path unit (PathChanged=) that a copy came: a write, then close. */
static void
tell_queued(int root, const struct timespec *when)
{
	char buf[64];
	int fd = openat(root, ".queued", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	int n = snprintf(buf, sizeof(buf), "%lld.%09ld\n", (long long)when->tv_sec, when->tv_nsec);
	(void)pv_write_all(fd, buf, (size_t)n);
	close(fd);
}

/*
 * A copy is durable when pv_spool_add returns, unless a batch syncs them
 * all at its end: false, with errno, when fd cannot be flushed.
 */
static bool
durable(const pv_spool *sp, int fd)
{
	return sp->batch || fsync(fd) == 0;
}

void
pv_spool_batch(pv_spool *sp)
{
	sp->batch = true;
}

int
pv_spool_sync(pv_spool *sp, pv_err *err)
{
	sp->batch = false;
	if (syncfs(sp->fd) < 0)
		return pv_fail(err, PV_EIO, "cannot flush the spool %s to disk: %s", sp->dir, strerror(errno));
	return PV_OK;
}

/* One pv_spool_add: the original, and its copy on its way in. */
typedef struct adding {
	pv_spool *sp;
	const char *file;       /* the original, as given */
	pv_spooled *how;        /* how it ends */
	char *rel;              /* its path below the data folder */
	pv_place pl;
	int fd;                 /* the original, open */
	pv_identity id;
	tmpfile_ data, meta;    /* the copy and its .id, not yet linked */
	char slot[NAME_MAX + 1]; /* the copy's name in its folder */
} adding;

/* The original: a path below the data folder that the scan would take, opened. */
static int
add_open(adding *a, pv_err *err)
{
	const char *why;
	int rc;

	if ((a->rel = pv_path_below(a->sp->data, a->file)) == NULL) {
		*a->how = PV_SPOOL_REFUSED;
		return pv_fail(err, PV_EDATA, "%s is outside the data folder %s", a->file, a->sp->data);
	}
	if ((why = rel_problem(a->rel)) != NULL) {
		*a->how = PV_SPOOL_REFUSED;
		return pv_fail(err, PV_EDATA, "%s %s", a->file, why);
	}
	/* one component at a time, no link followed: a tenant's link copies nothing */
	if ((rc = pv_place_open(&a->pl, &a->fd, a->sp->data, a->file, err)) < 0) {
		*a->how = rc == PV_ENOENT ? PV_SPOOL_GONE : rc == PV_EDATA ? PV_SPOOL_REFUSED :
		    PV_SPOOL_UNREADABLE;
		return rc;
	}
	identity_of(&a->id, &a->pl.st);
	return PV_OK;
}

/* The copy's name in `dir` (a->slot); PV_SPOOL_ALREADY when a copy of that upload waits there. */
static int
add_slot(adding *a, int dir, pv_err *err)
{
	bool same;
	int rc;

	if ((rc = find_slot(dir, base_name(a->rel), &a->id, a->slot, sizeof(a->slot), &same, err)) < 0) {
		*a->how = rc == PV_ETEMP ? PV_SPOOL_CHANGED : PV_SPOOL_FAILED;
		return rc;
	}
	if (same)
		*a->how = PV_SPOOL_ALREADY;
	return PV_OK;
}

/* The original's bytes into a new file of the spool (a->data), not yet visible. */
static int
add_copy(adding *a, pv_err *err)
{
	pv_spool *sp = a->sp;
	copied c;
	int in_errno;

	/* a run ingesting the original itself (-t, the hook's sync mode) holds it: it is that run's */
	if (flock(a->fd, LOCK_SH | LOCK_NB) < 0) {
		*a->how = PV_SPOOL_GONE;
		return pv_fail(err, PV_ENOENT, "%s is being ingested by another run", a->file);
	}
	flock(a->fd, LOCK_UN);
	if (!tmp_create(&a->data, sp->fd))
		return pv_fail(err, PV_EIO, "cannot create a file in the spool %s: %s", sp->dir, strerror(errno));
	c = copy_bytes(a->fd, a->data.fd, a->id.size, &in_errno);
	if (c == COPY_EWRITE || !durable(sp, a->data.fd))
		return pv_fail(err, PV_EIO, "cannot write the copy of %s into the spool %s: %s", a->file,
		    sp->dir, strerror(errno));
	if (c == COPY_EREAD) {
		*a->how = PV_SPOOL_UNREADABLE;
		return pv_fail(err, PV_EIO, "cannot read %s: %s", a->file, strerror(in_errno));
	}
	if (c == COPY_CHANGED || pv_place_changed(&a->pl, a->fd, err) < 0) {
		*a->how = PV_SPOOL_CHANGED;
		return pv_fail(err, PV_ETEMP, "%s changed while it was copied: not spooled "
		    "(its new content comes with its next upload, or the next scan)", a->file);
	}
	return PV_OK;
}

/*
 * Under the spool's lock: the original still the upload copied, its
 * folder in the spool made (*dir), and the copy's name.
 */
static int
add_place(adding *a, int *dir, pv_err *err)
{
	struct stat st;

	/* still that upload at that name? a worker may have settled it, a tenant replaced it */
	if (fstatat(a->pl.dir, a->pl.name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_ino != a->pl.st.st_ino ||
	    st.st_dev != a->pl.st.st_dev) {
		*a->how = PV_SPOOL_GONE;
		return pv_fail(err, PV_ENOENT, "%s was moved or replaced while it was copied: not spooled",
		    a->file);
	}
	if ((*dir = folder(a->sp, a->rel, true)) < 0)
		return pv_fail(err, PV_EIO, "cannot create the folder of %s in the spool %s: %s", a->rel,
		    a->sp->dir, strerror(errno));
	return add_slot(a, *dir, err);
}

/* Under the spool's lock: the .id, then the copy, linked into `dir` at their time in the queue. */
static int
add_link(adding *a, int dir, pv_err *err)
{
	pv_spool *sp = a->sp;
	char idname[NAME_MAX + 8], *text;
	struct timespec now;
	int rc = PV_OK;

	commit_time(sp->fd, &now);
	snprintf(idname, sizeof(idname), ".id/%s", a->slot);
	if ((text = id_text(a->rel, &a->id, &now)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	/* the .id first, then the copy: a copy in the spool always has its .id */
	const struct timespec times[2] = { now, now };
	if ((mkdirat(dir, ".id", 0700) < 0 && errno != EEXIST) ||
	    !tmp_create(&a->meta, sp->fd) || pv_write_all(a->meta.fd, text, strlen(text)) < 0 ||
	    !durable(sp, a->meta.fd) || (unlinkat(dir, idname, 0) < 0 && errno != ENOENT) ||
	    !tmp_link(&a->meta, sp->fd, dir, idname) ||
	    futimens(a->data.fd, times) < 0 || !tmp_link(&a->data, sp->fd, dir, a->slot) || !durable(sp, dir)) {
		rc = pv_fail(err, PV_EIO, "cannot write the copy of %s into the spool %s: %s", a->file, sp->dir,
		    strerror(errno));
		unlinkat(dir, idname, 0);
	} else
		tell_queued(sp->fd, &now);
	free(text);
	return rc;
}

int
pv_spool_add(pv_spool *sp, pv_spooled *how, char **copy, const char *file, pv_err *err)
{
	adding a = { .sp = sp, .file = file, .how = how, .fd = -1, .data = { .fd = -1 }, .meta = { .fd = -1 } };
	bool locked = false;
	int dir, rc;

	*how = PV_SPOOL_FAILED;
	if (copy != NULL)
		*copy = NULL;
	a.pl.dir = a.pl.parent = -1;
	if ((rc = add_open(&a, err)) < 0)
		goto out;
	/* the timer's scan finds every original whose copy waits: nothing to copy then */
	if ((dir = folder(sp, a.rel, false)) >= 0 &&
	    ((rc = add_slot(&a, dir, err)) < 0 || *how == PV_SPOOL_ALREADY))
		goto out;
	if ((rc = add_copy(&a, err)) < 0)
		goto out;
	/* what follows changes the spool: one at a time, the worker's settling included */
	if (!lock_wait(sp->lock)) {
		rc = pv_fail(err, PV_EIO, "cannot lock the spool %s: %s", sp->dir, strerror(errno));
		goto out;
	}
	locked = true;
	if ((rc = add_place(&a, &dir, err)) < 0 || *how == PV_SPOOL_ALREADY)
		goto out;
	if ((rc = add_link(&a, dir, err)) < 0)
		goto out;
	*how = PV_SPOOL_COPIED;
	if (copy != NULL && asprintf(copy, "%.*s%s", (int)(base_name(a.rel) - a.rel), a.rel, a.slot) < 0)
		*copy = NULL;
out:
	if (*how == PV_SPOOL_ALREADY)
		rc = PV_OK;
	if (locked)
		unlock(sp->lock);
	tmp_drop(&a.data, sp->fd);
	tmp_drop(&a.meta, sp->fd);
	if (a.fd >= 0)
		close(a.fd);
	pv_place_free(&a.pl);
	free(a.rel);
	return rc;
}

/* ---------------------------------------------------------------- the worker */

int
pv_spool_lock(pv_spool *sp, pv_err *err)
{
	if (sp->worker < 0 && (sp->worker = open_lock(sp->fd, ".worker.lock")) < 0)
		return pv_fail(err, PV_EIO, "cannot open %s/.worker.lock: %s", sp->dir, strerror(errno));
	if (flock(sp->worker, LOCK_EX | LOCK_NB) == 0)
		return 1;
	if (errno == EWOULDBLOCK)
		return 0;
	return pv_fail(err, PV_EIO, "cannot lock %s/.worker.lock: %s", sp->dir, strerror(errno));
}

static int
key_cmp(const struct timespec *ta, const char *a, const struct timespec *tb, const char *b)
{
	if (ta->tv_sec != tb->tv_sec)
		return ta->tv_sec < tb->tv_sec ? -1 : 1;
	if (ta->tv_nsec != tb->tv_nsec)
		return ta->tv_nsec < tb->tv_nsec ? -1 : 1;
	return strcmp(a, b);
}

static int
key_qsort(const void *a, const void *b)
{
	const key *x = a, *y = b;

	return key_cmp(&x->t, x->copy, &y->t, y->copy);
}

/* The window as a max-heap: the newest of the kept copies on top, to be pushed out. */
static void
sift_down(key *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && key_cmp(&h[l].t, h[l].copy, &h[m].t, h[m].copy) > 0)
			m = l;
		if (r < n && key_cmp(&h[r].t, h[r].copy, &h[m].t, h[m].copy) > 0)
			m = r;
		if (m == i)
			return;
		key tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

static void
sift_up(key *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (key_cmp(&h[i].t, h[i].copy, &h[p].t, h[p].copy) <= 0)
			return;
		key tmp = h[i];
		h[i] = h[p];
		h[p] = tmp;
		i = p;
	}
}

/* What one pass does with each copy it meets. */
typedef struct pass {
	pv_spool *sp;
	bool fill;        /* keep the next WINDOW copies after the cursor */
	bool tidy;        /* remove what dead spoolers left (the worker's lock is held) */
	size_t count;     /* copies met */
	bool any_after;   /* one after the cursor was met */
	struct timespec oldest;
} pass;

/* A copy met: counted, and kept when it is among the next ones; PV_OK or PV_ENOMEM. */
static int
meet(pass *ps, const char *copy, const struct stat *st)
{
	pv_spool *sp = ps->sp;
	bool after = !sp->started ||
	    key_cmp(&st->st_mtim, copy, &sp->cursor.t, sp->cursor.copy) > 0;

	if (ps->count++ == 0 || key_cmp(&st->st_mtim, "", &ps->oldest, "") < 0)
		ps->oldest = st->st_mtim;
	if (!after)
		return PV_OK;
	ps->any_after = true;
	if (!ps->fill)
		return PV_OK;
	if (sp->nwin == WINDOW) {
		/* full: it replaces the newest kept, when it is older */
		if (key_cmp(&st->st_mtim, copy, &sp->win[0].t, sp->win[0].copy) >= 0)
			return PV_OK;
		char *c = strdup(copy);
		if (c == NULL)
			return PV_ENOMEM;
		free(sp->win[0].copy);
		sp->win[0] = (key){ st->st_mtim, c };
		sift_down(sp->win, sp->nwin, 0);
		return PV_OK;
	}
	if ((sp->win[sp->nwin].copy = strdup(copy)) == NULL)
		return PV_ENOMEM;
	sp->win[sp->nwin].t = st->st_mtim;
	sift_up(sp->win, sp->nwin++);
	return PV_OK;
}

/* A temporary file of a spooler that died: unlocked, and not new. */
static void
tidy_tmp(int dir, const char *name)
{
	struct stat st;
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && time(NULL) - st.st_mtim.tv_sec > STALE_S &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0)
		unlinkat(dir, name, 0);
	close(fd);
}

/*
 * The .id files whose copy is gone, in folder `dir`: a spooler that died
 * before linking its copy, or a worker after removing it. The pass holds
 * the spool's lock: no spooler is between its .id and its copy.
 */
static void
tidy_ids(int dir)
{
	int ids = openat(dir, ".id", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (ids < 0)
		return;
	if ((d = fdopendir(ids)) == NULL) {
		close(ids);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			unlinkat(dirfd(d), de->d_name, 0);
	unlinkat(dir, ".id", AT_REMOVEDIR); /* when it is empty */
	closedir(d);
}

/* Walks folder `dir` (`rel` below the spool); depth bounded, one DIR open per level; PV_OK or PV_ENOMEM. */
static int
walk(pass *ps, int dir, char *rel, size_t len, int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = PV_OK;

	if (depth > DEPTH_MAX || (d = fdopendir(dir)) == NULL) {
		close(dir);
		return PV_OK;
	}
	while ((de = readdir(d)) != NULL && rc == PV_OK) {
		const char *name = de->d_name;
		size_t n = strlen(name);
		struct stat st;

		if (name[0] == '.') {
			if (ps->tidy && depth == 0 && strncmp(name, ".tmp.", 5) == 0)
				tidy_tmp(dirfd(d), name);
			else if (ps->tidy && depth == 0 && (strcmp(name, ".last-run.json.tmp") == 0 ||
			    strcmp(name, ".data.tmp") == 0))
				unlinkat(dirfd(d), name, 0); /* a worker's or a first open's, killed while it wrote */
			else if (ps->tidy && strcmp(name, ".id") == 0)
				tidy_ids(dirfd(d));
			continue;
		}
		if (len + n + 2 > PATH_MAX || fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		memcpy(rel + len, name, n + 1);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				rel[len + n] = '/';
				rel[len + n + 1] = '\0';
				rc = walk(ps, sub, rel, len + n + 1, depth + 1);
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = meet(ps, rel, &st);
		}
		rel[len] = '\0';
	}
	closedir(d);
	return rc;
}

/*
 * One walk over the spool. The worker's passes (`locked`) hold the spool's
 * lock: a readdir walk is not a snapshot, and a copy linked into a folder
 * already walked while a newer one appears in a folder not yet walked
 * would fall behind the cursor, never to be yielded. Under the lock every
 * copy is wholly before the pass or after it, and after it means a later
 * time (commit_time).
 */
static int
spool_pass(pass *ps, bool locked, pv_err *err)
{
	char rel[PATH_MAX + 1] = "";
	int dir = openat(ps->sp->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (dir < 0)
		return pv_fail(err, PV_EIO, "cannot read the spool %s: %s", ps->sp->dir, strerror(errno));
	if (locked && !lock_wait(ps->sp->lock)) {
		close(dir);
		return pv_fail(err, PV_EIO, "cannot lock the spool %s: %s", ps->sp->dir, strerror(errno));
	}
	rc = walk(ps, dir, rel, 0, 0);
	if (locked)
		unlock(ps->sp->lock);
	if (rc < 0)
		return pv_fail(err, rc, "out of memory");
	return PV_OK;
}

/* Builds the entry of a copy from its .id. */
static int
entry_of(pv_spool *sp, const key *k, pv_spool_entry **e, pv_err *err)
{
	pv_spool_entry *en = calloc(1, sizeof(*en));
	char *rel = NULL;
	int dir = -1, rc;

	if (en == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	en->queued = k->t;
	if ((en->copy = strdup(k->copy)) == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto fail;
	}
	if ((dir = folder(sp, k->copy, false)) < 0) {
		rc = pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "spool copy %s: %s", k->copy,
		    strerror(errno));
		goto fail;
	}
	if ((rc = id_read(dir, base_name(k->copy), &rel, &en->id, err)) < 0)
		goto fail;
	/* the original: where the .id says, below the data folder the worker was given */
	if (strstr(rel, "/../") != NULL || strncmp(rel, "../", 3) == 0 ||
	    asprintf(&en->path, "%s/%s", sp->data, rel) < 0) {
		en->path = NULL;
		rc = pv_fail(err, PV_EDATA, "the .id of %s: not a path below the data folder", k->copy);
		goto fail;
	}
	free(rel);
	*e = en;
	return PV_OK;
fail:
	free(rel);
	pv_spool_entry_free(en);
	return rc;
}

int
pv_spool_next(pv_spool *sp, pv_spool_entry **e, pv_err *err)
{
	int rc;

	*e = NULL;
	for (;;) {
		if (sp->pos == sp->nwin) {
			pass ps = { .sp = sp, .fill = true, .tidy = sp->worker >= 0 };
			window_clear(sp);
			if ((rc = spool_pass(&ps, true, err)) < 0)
				return rc;
			if (sp->nwin == 0)
				return 0;
			qsort(sp->win, sp->nwin, sizeof(sp->win[0]), key_qsort);
		}
		key *k = &sp->win[sp->pos++];
		free(sp->cursor.copy);
		sp->cursor = *k; /* the cursor takes the name over */
		k->copy = NULL;
		sp->started = true;
		if ((rc = entry_of(sp, &sp->cursor, e, err)) == PV_OK)
			return 1;
		if (rc == PV_ENOMEM)
			return rc;
		/* gone meanwhile, or no .id of ours: said, and left alone */
		if (rc != PV_ENOENT)
			pv_warn("spool %s: %s: left in the spool", sp->dir, err->msg);
	}
}

int
pv_spool_count(pv_spool *sp, size_t *n, pv_err *err)
{
	pass ps = { .sp = sp };
	int rc = spool_pass(&ps, false, err);

	*n = ps.count;
	return rc;
}

int
pv_spool_again(pv_spool *sp, pv_err *err)
{
	pass ps = { .sp = sp };
	int rc;

	if (sp->worker >= 0)
		unlock(sp->worker);
	if (pv_stop_signal() != 0)
		return 0;
	if ((rc = spool_pass(&ps, true, err)) < 0)
		return rc;
	if (!ps.any_after)
		return 0;
	/* taken again: else the worker that holds it now sees them */
	return pv_spool_lock(sp, err);
}

int
pv_spool_open_copy(pv_spool *sp, const pv_spool_entry *e, int *fd, char **abs, pv_err *err)
{
	int dir = folder(sp, e->copy, false);

	*fd = -1;
	if (abs != NULL)
		*abs = NULL;
	if (dir >= 0)
		*fd = openat(dir, base_name(e->copy), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		return pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "spool copy %s/%s: %s", sp->dir,
		    e->copy, strerror(errno));
	if (abs != NULL && asprintf(abs, "%s/%s", sp->dir, e->copy) < 0)
		*abs = NULL;
	return PV_OK;
}

/* Removes the copy and its .id, then the folders it leaves empty. */
static void
remove_copy(pv_spool *sp, const pv_spool_entry *e)
{
	char idname[NAME_MAX + 8], *rel = strdup(e->copy), *slash;
	int dir = folder(sp, e->copy, false);

	if (dir >= 0) {
		snprintf(idname, sizeof(idname), ".id/%s", base_name(e->copy));
		unlinkat(dir, base_name(e->copy), 0);
		unlinkat(dir, idname, 0);
		unlinkat(dir, ".id", AT_REMOVEDIR); /* when it is empty */
		/* no fsync: a removal lost in a crash brings back a copy whose original is
		   gone or moved; the next worker ingests it again (stored once) and removes it */
	}
	/* empty folders go, from the deepest: rmdir fails on one that is not */
	while (rel != NULL && (slash = strrchr(rel, '/')) != NULL) {
		*slash = '\0';
		if (unlinkat(sp->fd, rel, AT_REMOVEDIR) < 0)
			break;
	}
	free(rel);
}

void
pv_spool_drop(pv_spool *sp, const pv_spool_entry *e)
{
	if (!lock_wait(sp->lock))
		return;
	remove_copy(sp, e);
	unlock(sp->lock);
}

int
pv_spool_settle(pv_spool *sp, const pv_spool_entry *e, const char *subdir, char **dest, pv_err *err)
{
	pv_place pl;
	pv_identity now;
	int fd = -1, rc;

	*dest = NULL;
	if (!lock_wait(sp->lock))
		return pv_fail(err, PV_EIO, "cannot lock the spool %s: %s", sp->dir, strerror(errno));
	rc = pv_place_open(&pl, &fd, sp->data, e->path, err);
	if (rc == PV_OK) {
		identity_of(&now, &pl.st);
		if (!identity_eq(&now, &e->id))
			rc = pv_fail(err, PV_ENOENT,
			    "the original was written to or replaced after this upload: left for its own");
		else if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			rc = pv_fail(err, PV_ENOENT, "the original is being ingested by another run");
		else
			rc = pv_settle_move(dest, &pl, fd, subdir, err);
	} else if (rc == PV_ENOENT || rc == PV_EDATA) {
		rc = pv_fail(err, PV_ENOENT, "the original is no longer there (moved or removed after its upload)");
	}
	/* a move that failed keeps the copy, as a run keeps a file it could not move */
	if (rc == PV_OK || rc == PV_ENOENT)
		remove_copy(sp, e);
	else if (rc != PV_ENOMEM)
		rc = PV_EIO;
	unlock(sp->lock);
	if (fd >= 0)
		close(fd);
	pv_place_free(&pl);
	return rc;
}

/* ---------------------------------------------------------------- records */

int
pv_spool_record_run(pv_spool *sp, const cJSON *run, pv_err *err)
{
	char *text = cJSON_PrintUnformatted(run);
	int fd, rc = PV_OK;

	if (text == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	/* one worker at a time: a fixed temporary name, which a killed one leaves for the next to tidy */
	fd = openat(sp->fd, ".last-run.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || pv_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0 ||
	    renameat(sp->fd, ".last-run.json.tmp", sp->fd, ".last-run.json") < 0)
		rc = pv_fail(err, PV_EIO, "%s/.last-run.json: %s", sp->dir, strerror(errno));
	free(text);
	return rc;
}

int
pv_spool_stats(cJSON **out, const char *dir, pv_err *err)
{
	pv_spool sp;
	pass ps = { .sp = &sp };
	struct timespec now;
	cJSON *o = cJSON_CreateObject(), *last = NULL;
	int fd, rc = PV_OK;

	*out = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.fd = sp.lock = sp.worker = sp.cdir = -1;
	sp.dir = (char *)dir;
	if (o == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	cJSON_AddItemToObject(o, "dir", pv_json_string(dir));
	if ((sp.fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT) {
			rc = pv_fail(err, PV_EIO, "spool folder %s: %s", dir, strerror(errno));
			goto out;
		}
		cJSON_AddNumberToObject(o, "waiting", 0);
		cJSON_AddBoolToObject(o, "worker_running", false);
		goto done;
	}
	if ((rc = spool_pass(&ps, false, err)) < 0)
		goto out;
	cJSON_AddNumberToObject(o, "waiting", (double)ps.count);
	clock_gettime(CLOCK_REALTIME, &now);
	if (ps.count > 0)
		cJSON_AddNumberToObject(o, "oldest_age_s", (double)(now.tv_sec - ps.oldest.tv_sec));
	/* a worker holds its lock: a shared one cannot be had */
	fd = openat(sp.fd, ".worker.lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cJSON_AddBoolToObject(o, "worker_running", fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 &&
	    errno == EWOULDBLOCK);
	if (fd >= 0)
		close(fd);
	if ((fd = openat(sp.fd, ".last-run.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		char buf[8192];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			last = cJSON_Parse(buf);
		}
	}
	if (cJSON_IsObject(last)) {
		cJSON_AddItemToObject(o, "last_run", last);
		last = NULL;
	}
done:
	*out = o;
	o = NULL;
out:
	cJSON_Delete(last);
	cJSON_Delete(o);
	if (sp.fd >= 0)
		close(sp.fd);
	window_clear(&sp);
	return rc;
}
