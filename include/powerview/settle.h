/* After a file: move it to parsed/ or error/, never overwriting. */
#ifndef POWERVIEW_SETTLE_H
#define POWERVIEW_SETTLE_H

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

/* Writes `data` to `dir/name` through a temporary file, fsync and rename. */
int pv_settle_write_atomic(const char *dir, const char *name, const char *data,
    size_t len, pv_err *err);

/* mkdir -p */
int pv_mkdirs(const char *path, pv_err *err);

#endif
