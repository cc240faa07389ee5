/* Opening a file below the data folder without following any symbolic link. */
#ifndef POWERVIEW_PLACE_H
#define POWERVIEW_PLACE_H

#include <sys/stat.h>

#include "powerview/common.h"

/*
 * Where a file sits, held open: the folders are O_PATH descriptors, so a
 * later move works on the very folders that were checked, never on a path
 * that a tenant could have re-pointed in between.
 */
typedef struct pv_place {
	int dir;        /* the file's folder */
	int parent;     /* the folder above it; -1 when the file's folder is the data folder */
	char *dir_name; /* the name of the file's folder ("" for the data folder) */
	char *name;     /* the file's name */
	char *path;     /* the path as given, for messages and reports */
	struct stat st; /* the file as opened */
} pv_place;

/*
 * Opens `file`, which must lie below `data_dir` (both taken lexically, as in
 * pv_location_parse), one path component at a time from the data folder
 * with O_NOFOLLOW: a symbolic link anywhere below the data folder (a linked
 * company, campaign or device folder, or the file itself) is refused before
 * anything is read. The data folder itself may be a link.
 *
 * On success *fd is the file, opened for reading with O_NONBLOCK (a FIFO
 * cannot hang the run), and pl->st its fstat. Returns PV_ENOENT when a
 * component is missing, PV_EDATA when the file is outside the data folder,
 * behind a link or not a regular file, PV_EIO when a folder cannot be
 * opened. `pl` holds the folders on success and whatever was opened on
 * failure (so a file refused for its name can still be moved); free it
 * with pv_place_free.
 */
int pv_place_open(pv_place *pl, int *fd, const char *data_dir, const char *file, pv_err *err);
void pv_place_free(pv_place *pl);

/* PV_OK when the file still has the size and modification time it had when
 * opened; PV_EIO, with a message, when someone truncated or rewrote it. */
int pv_place_changed(const pv_place *pl, int fd, pv_err *err);

#endif
