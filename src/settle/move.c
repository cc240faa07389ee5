/* Settling a file: moves without overwriting, atomic report writes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerview/settle.h"

int
pv_mkdirs(const char *path, pv_err *err)
{
	char *p = strdup(path);

	if (p == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			int e = errno;
			free(p);
			return pv_fail(err, PV_EIO, "cannot create %s: %s", path, strerror(e));
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return PV_OK;
}

static void
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* rename(2) that never replaces: renameat2 where the file system has it, link(2) elsewhere. */
static int
rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) < 0)
		return -1;
	if (unlink(from) < 0) {
		int e = errno;
		(void)unlink(to);
		errno = e;
		return -1;
	}
	return 0;
}

int
pv_settle_move(char **dest, const char *path, const char *subdir, pv_err *err)
{
	char *copy = strdup(path), *base_copy = strdup(path), *dir, *target = NULL;
	const char *base, *ext;
	int rc;

	*dest = NULL;
	if (copy == NULL || base_copy == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	base = basename(base_copy);
	ext = strrchr(base, '.');
	if (ext == NULL || ext == base)
		ext = base + strlen(base);
	/* a file taken again from parsed/ or error/ goes to its sibling, not below it */
	char *parent = dirname(copy), *slash = strrchr(parent, '/');
	const char *pname = slash ? slash + 1 : parent;
	if (strcmp(pname, subdir) == 0) {
		/* already where it belongs */
		rc = (*dest = strdup(path)) ? PV_OK : pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if ((strcmp(pname, "parsed") == 0 || strcmp(pname, "error") == 0)) {
		if (slash == NULL)
			parent = ".";
		else if (slash == parent)
			parent[1] = '\0';
		else
			*slash = '\0';
	}
	if (asprintf(&dir, "%s/%s", parent, subdir) < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		rc = pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "cannot create %s: %s", dir,
		    strerror(errno));
		free(dir);
		goto out;
	}
	for (unsigned n = 0;; n++) {
		free(target);
		if (n == 0)
			rc = asprintf(&target, "%s/%s", dir, base);
		else
			rc = asprintf(&target, "%s/%.*s.%u%s", dir, (int)(ext - base), base, n, ext);
		if (rc < 0) {
			target = NULL;
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
		if (rename_noreplace(path, target) == 0) {
			fsync_dir(dir);
			*dest = target;
			target = NULL;
			rc = PV_OK;
			break;
		}
		if (errno == EEXIST && n < 100000)
			continue;
		rc = pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "cannot move %s to %s: %s",
		    path, dir, strerror(errno));
		break;
	}
	free(target);
	free(dir);
out:
	free(copy);
	free(base_copy);
	return rc;
}

int
pv_settle_write_atomic(const char *dir, const char *name, const char *data, size_t len,
    pv_err *err)
{
	char *tmp = NULL, *final = NULL;
	int fd = -1, rc;

	if ((rc = pv_mkdirs(dir, err)) < 0)
		return rc;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0 ||
	    asprintf(&final, "%s/%s", dir, name) < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = pv_fail(err, PV_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
		goto out;
	}
	(void)fchmod(fd, 0644);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pv_fail(err, PV_EIO, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		rc = pv_fail(err, PV_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final) < 0) {
		rc = pv_fail(err, PV_EIO, "cannot rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fsync_dir(dir);
	rc = PV_OK;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(final);
	return rc;
}
