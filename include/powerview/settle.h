/* After a file: move it to parsed/ or error/, never overwriting. */
#ifndef POWERVIEW_SETTLE_H
#define POWERVIEW_SETTLE_H

#include <stdio.h>

#include "powerview/common.h"
#include "powerview/place.h"

/*
 * Moves the file of `pl` into `<its folder>/<subdir>/`, created if needed; a
 * file already in a parsed/ or error/ folder goes to that folder's sibling
 * instead. Works on the folders `pl` holds open and never follows a link:
 * a `subdir` that is a symbolic link is refused (PV_EIO, the file stays).
 * An existing name is never replaced: "a.tsv" becomes "a.1.tsv",
 * "a.2.tsv", ..., shortened to fit NAME_MAX. *dest receives the new path.
 * PV_ENOENT when the name vanished, or now holds another file than `fd`
 * (a new upload: it is left for its own run).
 */
int pv_settle_move(char **dest, const pv_place *pl, int fd, const char *subdir, pv_err *err);

/* A file written in place of another only once whole: a temporary file,
 * fsync, rename. */
typedef struct pv_atomic {
	FILE *fp;   /* write here between open and commit */
	char *tmp, *final, *dir;
} pv_atomic;

/* Opens `dir/.name.XXXXXX` (creating `dir`), mode 0644. */
int pv_settle_open_atomic(pv_atomic *a, const char *dir, const char *name, pv_err *err);
/* Flushes, fsyncs and renames it to `dir/name`; on failure the temporary file is removed. */
int pv_settle_commit_atomic(pv_atomic *a, pv_err *err);
/* Removes the temporary file. */
void pv_settle_abort_atomic(pv_atomic *a);

/* Writes `data` to `dir/name` through a temporary file, fsync and rename. */
int pv_settle_write_atomic(const char *dir, const char *name, const char *data,
    size_t len, pv_err *err);

/* mkdir -p */
int pv_mkdirs(const char *path, pv_err *err);

#endif
