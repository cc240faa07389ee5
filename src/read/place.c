/* Opening a file below the data folder, one component at a time, no link followed. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerview/path.h"
#include "powerview/place.h"

void
pv_place_free(pv_place *pl)
{
	if (pl->dir >= 0)
		close(pl->dir);
	if (pl->parent >= 0)
		close(pl->parent);
	free(pl->dir_name);
	free(pl->name);
	free(pl->path);
	memset(pl, 0, sizeof(*pl));
	pl->dir = pl->parent = -1;
}

/* Why openat() refused `name` in `dir`: a link is named as such (*link). */
static int
refused(pv_err *err, bool *link, int e, int dir, const char *name, const char *shown,
    const char *file, const char *what, int rc)
{
	struct stat st;

	*link = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
	if (*link)
		return pv_fail(err, PV_EDATA, "%s is a symbolic link: not followed", shown);
	if (e == ENOENT)
		return pv_fail(err, PV_ENOENT, "%s vanished", file);
	if (e == ENOTDIR)
		return pv_fail(err, PV_EDATA, "%s is not a folder", shown);
	return pv_fail(err, rc, "cannot open %s %s: %s", what, shown, strerror(e));
}

int
pv_place_open(pv_place *pl, int *fd, const char *data_dir, const char *file, pv_err *err)
{
	char *rel, *shown = NULL;
	bool link;
	int rc = PV_OK;

	memset(pl, 0, sizeof(*pl));
	pl->dir = pl->parent = -1;
	*fd = -1;
	if ((pl->path = strdup(file)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	if ((rel = pv_path_below(data_dir, file)) == NULL)
		return pv_fail(err, PV_EDATA, "%s is outside the data folder %s", file, data_dir);
	if ((pl->dir = open(data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "cannot open the data folder %s: %s",
		    data_dir, strerror(errno));
		goto out;
	}
	if ((pl->dir_name = strdup("")) == NULL || (shown = strdup(rel)) == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	/* every folder below the data folder, then the file, each with O_NOFOLLOW */
	char *comp = rel, *slash;
	while ((slash = strchr(comp, '/')) != NULL) {
		*slash = '\0';
		shown[slash - rel] = '\0';
		int next = openat(pl->dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			/* a folder we cannot enter is not the file's fault: it waits */
			rc = refused(err, &link, errno, pl->dir, comp, shown, file, "folder", PV_EIO);
			goto out;
		}
		shown[slash - rel] = '/';
		if (pl->parent >= 0)
			close(pl->parent);
		pl->parent = pl->dir;
		pl->dir = next;
		free(pl->dir_name);
		if ((pl->dir_name = strdup(comp)) == NULL) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			goto out;
		}
		comp = slash + 1;
	}
	if ((pl->name = strdup(comp)) == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	if ((*fd = openat(pl->dir, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		rc = refused(err, &link, errno, pl->dir, comp, shown, file, "file", PV_EDATA);
		if (link) {
			/* never moved: only the link would go, and it points elsewhere */
			free(pl->name);
			pl->name = NULL;
		}
		goto out;
	}
	if (fstat(*fd, &pl->st) < 0 || !S_ISREG(pl->st.st_mode)) {
		rc = pv_fail(err, PV_EDATA, "%s is not a regular file", shown);
		close(*fd);
		*fd = -1;
	}
out:
	free(shown);
	free(rel);
	return rc;
}

int
pv_place_changed(const pv_place *pl, int fd, pv_err *err)
{
	struct stat now;

	if (fstat(fd, &now) < 0)
		return pv_fail(err, PV_EIO, "cannot stat %s: %s", pl->path, strerror(errno));
	if (now.st_size != pl->st.st_size || now.st_mtim.tv_sec != pl->st.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != pl->st.st_mtim.tv_nsec)
		return pv_fail(err, PV_EIO,
		    "the file changed while it was read (%lld bytes, then %lld): left in place for a later run",
		    (long long)pl->st.st_size, (long long)now.st_size);
	return PV_OK;
}
