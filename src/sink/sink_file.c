/* The file sink: line protocol appended to a file or standard output. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerview/log.h"
#include "powerview/sink.h"

typedef struct file_sink {
	pv_sink base;
	int fd;
	bool own_fd;
	bool regular;   /* can be truncated back, fsynced and locked */
	bool locked;
	off_t begin;    /* size when the current file began */
	char *path;
	int journal;    /* where the file in progress began, for the run after a crash; -1: none */
} file_sink;

static int
io_error(pv_err *err, const char *path, const char *what)
{
	int e = errno;
	/* A full disk or a failing device is not the input's fault: keep the file. */
	return pv_fail(err, PV_ETEMP, "cannot %s %s: %s", what, path, strerror(e));
}

/*
 * The journal: "<offset> <dev> <ino> <path>\n" of the file in progress, empty
 * between files. A run killed before it settled a file (SIGKILL, a crash)
 * leaves it: if that file is still where it was, it will be taken again, so
 * its lines are taken back. The page cache outlives the process, so no fsync.
 * Both steps: false with errno set when the journal cannot be written.
 */
static bool
journal_recover(file_sink *f)
{
	char buf[PATH_MAX + 128], path[PATH_MAX];
	long long off;
	unsigned long long dev, ino;
	struct stat st;
	ssize_t n = pread(f->journal, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return true;
	buf[n] = '\0';
	if (sscanf(buf, "%lld %llu %llu %4095[^\n]", &off, &dev, &ino, path) != 4)
		return ftruncate(f->journal, 0) == 0;
	/* moved (settled) or gone: its lines stay; still in place: they go */
	if (stat(path, &st) == 0 && st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino &&
	    off >= 0 && off <= lseek(f->fd, 0, SEEK_END) && ftruncate(f->fd, (off_t)off) == 0)
		pv_warn("%s: the lines of %s, left by a run that stopped before moving it, were taken back",
		    f->path, path);
	return ftruncate(f->journal, 0) == 0;
}

static bool
journal_write(file_sink *f, const pv_sink *s)
{
	char buf[PATH_MAX + 128];
	int n;

	if (s->source_path == NULL)
		return true;
	n = snprintf(buf, sizeof(buf), "%lld %llu %llu %s\n", (long long)f->begin,
	    (unsigned long long)s->source_dev, (unsigned long long)s->source_ino, s->source_path);
	if (n < 0 || (size_t)n >= sizeof(buf) || strchr(s->source_path, '\n') != NULL)
		return true; /* a name the journal cannot hold: only a crash would show it */
	return ftruncate(f->journal, 0) == 0 && pwrite(f->journal, buf, (size_t)n, 0) == n;
}

static int
fs_begin(pv_sink *s, const char *bucket, pv_err *err)
{
	file_sink *f = (file_sink *)s;

	(void)bucket;
	if (f->regular) {
		/* another run writing the same output finishes its file first */
		while (!f->locked && flock(f->fd, LOCK_EX) < 0)
			if (errno != EINTR || pv_stop_signal() != 0)
				return io_error(err, f->path, "lock");
		f->locked = true;
		if (f->journal >= 0 && !journal_recover(f))
			return io_error(err, f->path, "recover the journal of");
		f->begin = lseek(f->fd, 0, SEEK_END);
		if (f->begin < 0)
			return io_error(err, f->path, "seek in");
		if (f->journal >= 0 && !journal_write(f, s))
			return io_error(err, f->path, "write the journal of");
	}
	return PV_OK;
}

static int
fs_write(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err)
{
	file_sink *f = (file_sink *)s;

	(void)nlines;
	if (pv_write_all(f->fd, buf, len) < 0)
		return io_error(err, f->path, "write to");
	return PV_OK;
}

static int
fs_commit(pv_sink *s, pv_err *err)
{
	file_sink *f = (file_sink *)s;

	/* The input moves to parsed/ only once its points are on disk. */
	if (f->regular && fsync(f->fd) < 0 && errno != EINVAL && errno != EROFS)
		return io_error(err, f->path, "flush");
	return PV_OK;
}

static bool
fs_abort(pv_sink *s)
{
	file_sink *f = (file_sink *)s;

	return f->regular && ftruncate(f->fd, f->begin) == 0;
}

static bool
fs_settled(pv_sink *s, bool kept)
{
	file_sink *f = (file_sink *)s;
	bool undone = !kept && f->regular && ftruncate(f->fd, f->begin) == 0;

	if (f->journal >= 0)
		(void)ftruncate(f->journal, 0);
	if (f->locked)
		(void)flock(f->fd, LOCK_UN);
	f->locked = false;
	return undone;
}

static void
fs_free(pv_sink *s)
{
	file_sink *f = (file_sink *)s;

	if (f->own_fd)
		close(f->fd);
	if (f->journal >= 0)
		close(f->journal);
	free(f->path);
	free(f);
}

static const pv_sink_ops file_ops = {
	fs_begin, fs_write, fs_commit, fs_abort, fs_free, NULL, fs_settled, NULL, NULL,
};

/* ".<name>.tsv_parser-journal" beside the output, opened: an fd, or -1 with errno set. */
static int
open_journal(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *jpath = NULL;
	int fd;

	if (asprintf(&jpath, "%.*s.%s.tsv_parser-journal", slash ? (int)(slash + 1 - path) : 0, path,
	    slash ? slash + 1 : path) < 0) {
		errno = ENOMEM;
		return -1;
	}
	fd = open(jpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	free(jpath);
	return fd;
}

int
pv_sink_file_open(pv_sink **out, const char *path, pv_err *err)
{
	file_sink *f = calloc(1, sizeof(*f));
	struct stat st;

	*out = NULL;
	if (f == NULL || (f->path = strdup(strcmp(path, "-") == 0 ? "standard output" : path)) == NULL) {
		free(f);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	if (strcmp(path, "-") == 0)
		f->fd = STDOUT_FILENO;
	else {
		f->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (f->fd < 0) {
			int e = errno;
			free(f->path);
			free(f);
			return pv_fail(err, PV_ECONFIG, "cannot open output %s: %s", path, strerror(e));
		}
		f->own_fd = true;
	}
	f->regular = fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode);
	f->journal = -1;
	if (f->regular && f->own_fd && (f->journal = open_journal(path)) < 0) {
		int e = errno;
		fs_free(&f->base);
		return pv_fail(err, PV_ECONFIG, "cannot open the journal of output %s: %s", path, strerror(e));
	}
	f->base.ops = &file_ops;
	f->base.batch_lines = (size_t)-1;
	f->base.batch_bytes = 256 * 1024;
	*out = &f->base;
	return PV_OK;
}

void
pv_sink_free(pv_sink *s)
{
	if (s != NULL)
		s->ops->free(s);
}
