/* Settling a file: moves without overwriting, atomic report writes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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

/*
 * rename(2) that never replaces: renameat2 where the file system has it,
 * link(2) elsewhere. false with errno set (EEXIST: the name is taken).
 */
static bool
rename_noreplace(int fromdir, const char *from, int todir, const char *to)
{
	if (renameat2(fromdir, from, todir, to, RENAME_NOREPLACE) == 0)
		return true;
	if (errno != EINVAL && errno != ENOSYS)
		return false;
	if (linkat(fromdir, from, todir, to, 0) < 0)
		return false;
	if (unlinkat(fromdir, from, 0) < 0) {
		int e = errno;
		(void)unlinkat(todir, to, 0);
		errno = e;
		return false;
	}
	return true;
}

/*
 * The n-th free name for `name`: "a.tsv", "a.1.tsv", "a.2.tsv", ... within
 * NAME_MAX bytes. A long stem is shortened (at a UTF-8 character boundary)
 * so that the number and the extension always fit; an extension is the
 * last dot's part when short, so "a.b.tsv" keeps ".tsv".
 */
static void
numbered_name(char *out, const char *name, unsigned n)
{
	size_t len = strlen(name), stem = len, keep;
	const char *dot = strrchr(name, '.');
	char num[16];

	if (n == 0) {
		memcpy(out, name, len + 1);
		return;
	}
	if (dot != NULL && dot != name && len - (size_t)(dot - name) <= 16)
		stem = (size_t)(dot - name);
	int k = snprintf(num, sizeof(num), ".%u", n);
	keep = stem;
	if (keep + (size_t)k + (len - stem) > NAME_MAX) {
		keep = NAME_MAX - (size_t)k - (len - stem);
		while (keep > 0 && ((unsigned char)name[keep] & 0xC0) == 0x80)
			keep--;
	}
	snprintf(out, NAME_MAX + 1, "%.*s%s%s", (int)keep, name, num, name + stem);
}

/* Opens (creating it if needed) the folder `sub` of `at`, refusing a link. */
static int
open_subdir(int *out, int at, const char *sub, const char *shown, pv_err *err)
{
	struct stat st;

	if (mkdirat(at, sub, 0777) < 0 && errno != EEXIST)
		return pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "cannot create %s: %s", shown,
		    strerror(errno));
	if ((*out = openat(at, sub, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
		return PV_OK;
	if (fstatat(at, sub, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return pv_fail(err, PV_EIO, "%s is a symbolic link: not followed, the file stays in place",
		    shown);
	return pv_fail(err, PV_EIO, "cannot open %s: %s, the file stays in place", shown,
	    errno == ENOTDIR ? "not a folder" : strerror(errno));
}

/* The path shown for the destination: beside the file, or beside its parsed/ or error/. */
static char *
dest_dir_path(const char *path, bool sibling, const char *subdir)
{
	char *copy = strdup(path), *out = NULL, *slash;

	if (copy == NULL)
		return NULL;
	for (int up = sibling ? 2 : 1; up > 0; up--) {
		if ((slash = strrchr(copy, '/')) == NULL) {
			copy[0] = '\0';
			break;
		}
		*slash = '\0';
	}
	if (asprintf(&out, "%s%s%s", copy, copy[0] || path[0] == '/' ? "/" : "", subdir) < 0)
		out = NULL;
	free(copy);
	return out;
}

int
pv_settle_move(char **dest, const pv_place *pl, int fd, const char *subdir, pv_err *err)
{
	struct stat now, st;
	char target[NAME_MAX + 1], *dir;
	int at = pl->dir, sub = -1, rc;

	*dest = NULL;
	if (strcmp(pl->dir_name, subdir) == 0)
		/* already where it belongs */
		return (*dest = strdup(pl->path)) ? PV_OK : pv_fail(err, PV_ENOMEM, "out of memory");
	/* a file taken again from parsed/ or error/ goes to its sibling, not below it */
	bool sibling = pl->parent >= 0 &&
	    (strcmp(pl->dir_name, "parsed") == 0 || strcmp(pl->dir_name, "error") == 0);
	if (sibling)
		at = pl->parent;
	if ((dir = dest_dir_path(pl->path, sibling, subdir)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	/* the name must still be the file that was read: a replaced one is a new upload */
	if (fstatat(pl->dir, pl->name, &now, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s vanished before it could be moved",
		    pl->path);
		goto out;
	}
	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_ino != now.st_ino || st.st_dev != now.st_dev)) {
		rc = pv_fail(err, PV_ENOENT,
		    "%s was replaced by another file while it was read: the new one is left for its own run",
		    pl->path);
		goto out;
	}
	if ((rc = open_subdir(&sub, at, subdir, dir, err)) < 0)
		goto out;
	for (unsigned n = 0;; n++) {
		numbered_name(target, pl->name, n);
		if (rename_noreplace(pl->dir, pl->name, sub, target)) {
			int sync = openat(sub, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sync >= 0) {
				(void)fsync(sync);
				close(sync);
			}
			rc = asprintf(dest, "%s/%s", dir, target) < 0
			    ? (*dest = NULL, pv_fail(err, PV_ENOMEM, "out of memory")) : PV_OK;
			break;
		}
		if (errno == EEXIST && n < 100000)
			continue;
		rc = pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "cannot move %s to %s: %s",
		    pl->path, dir, strerror(errno));
		break;
	}
out:
	if (sub >= 0)
		close(sub);
	free(dir);
	return rc;
}

int
pv_settle_open_atomic(pv_atomic *a, const char *dir, const char *name, pv_err *err)
{
	int fd, rc;

	memset(a, 0, sizeof(*a));
	if ((rc = pv_mkdirs(dir, err)) < 0)
		return rc;
	if (asprintf(&a->tmp, "%s/.%s.XXXXXX", dir, name) < 0 ||
	    asprintf(&a->final, "%s/%s", dir, name) < 0) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto fail;
	}
	if ((fd = mkostemp(a->tmp, O_CLOEXEC)) < 0) {
		rc = pv_fail(err, PV_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
		goto fail;
	}
	(void)fchmod(fd, 0644);
	if ((a->fp = fdopen(fd, "w")) == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		close(fd);
		unlink(a->tmp);
		goto fail;
	}
	if ((a->dir = strdup(dir)) == NULL) {
		pv_settle_abort_atomic(a);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	return PV_OK;
fail:
	free(a->tmp);
	free(a->final);
	memset(a, 0, sizeof(*a));
	return rc;
}

void
pv_settle_abort_atomic(pv_atomic *a)
{
	if (a->fp != NULL) {
		fclose(a->fp);
		unlink(a->tmp);
	}
	free(a->tmp);
	free(a->final);
	free(a->dir);
	memset(a, 0, sizeof(*a));
}

int
pv_settle_commit_atomic(pv_atomic *a, pv_err *err)
{
	int rc = PV_OK;

	if (fflush(a->fp) == EOF || ferror(a->fp) || fsync(fileno(a->fp)) < 0)
		rc = pv_fail(err, PV_EIO, "cannot write %s: %s", a->tmp, strerror(errno));
	if (fclose(a->fp) == EOF && rc == PV_OK)
		rc = pv_fail(err, PV_EIO, "cannot write %s: %s", a->tmp, strerror(errno));
	a->fp = NULL;
	if (rc == PV_OK && rename(a->tmp, a->final) < 0)
		rc = pv_fail(err, PV_EIO, "cannot rename %s: %s", a->tmp, strerror(errno));
	if (rc == PV_OK)
		fsync_dir(a->dir);
	else
		unlink(a->tmp);
	free(a->tmp);
	free(a->final);
	free(a->dir);
	memset(a, 0, sizeof(*a));
	return rc;
}

int
pv_settle_write_atomic(const char *dir, const char *name, const char *data, size_t len,
    pv_err *err)
{
	pv_atomic a;
	int rc;

	if ((rc = pv_settle_open_atomic(&a, dir, name, err)) < 0)
		return rc;
	if (len > 0 && fwrite(data, 1, len, a.fp) != len) {
		int e = errno;
		rc = pv_fail(err, PV_EIO, "cannot write %s: %s", a.tmp, strerror(e));
		pv_settle_abort_atomic(&a);
		return rc;
	}
	return pv_settle_commit_atomic(&a, err);
}
