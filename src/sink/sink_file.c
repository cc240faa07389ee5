/* The file sink: line protocol appended to a file or standard output. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerview/sink.h"

typedef struct file_sink {
	pv_sink base;
	int fd;
	bool own_fd;
	bool regular;   /* can be truncated back and fsynced */
	off_t begin;    /* size when the current file began */
	char *path;
} file_sink;

static int
io_error(pv_err *err, const char *path, const char *what)
{
	int e = errno;
	/* A full disk or a failing device is not the input's fault: keep the file. */
	return pv_fail(err, PV_ETEMP, "cannot %s %s: %s", what, path, strerror(e));
}

static int
fs_begin(pv_sink *s, const char *bucket, pv_err *err)
{
	file_sink *f = (file_sink *)s;

	(void)bucket;
	if (f->regular) {
		f->begin = lseek(f->fd, 0, SEEK_END);
		if (f->begin < 0)
			return io_error(err, f->path, "seek in");
	}
	return PV_OK;
}

static int
fs_write(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err)
{
	file_sink *f = (file_sink *)s;

	(void)nlines;
	while (len > 0) {
		ssize_t n = write(f->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error(err, f->path, "write to");
		buf += n;
		len -= (size_t)n;
	}
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

static int
fs_abort(pv_sink *s)
{
	file_sink *f = (file_sink *)s;

	if (!f->regular)
		return 0;
	return ftruncate(f->fd, f->begin) == 0 ? 1 : 0;
}

static void
fs_free(pv_sink *s)
{
	file_sink *f = (file_sink *)s;

	if (f->own_fd)
		close(f->fd);
	free(f->path);
	free(f);
}

static const pv_sink_ops file_ops = { fs_begin, fs_write, fs_commit, fs_abort, fs_free, NULL, NULL };

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
