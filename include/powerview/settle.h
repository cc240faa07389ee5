/* After a file: move it to parsed/ or error/, never overwriting. */
#ifndef POWERVIEW_SETTLE_H
#define POWERVIEW_SETTLE_H

#include "powerview/common.h"

/*
 * Moves `path` into `<dirname(path)>/<subdir>/`, created if needed, by
 * rename(2); a file already in a parsed/ or error/ folder goes to that
 * folder's sibling instead. An existing name is never replaced: "a.tsv"
 * becomes "a.1.tsv", "a.2.tsv", ... *dest receives the new path.
 * PV_ENOENT when `path` vanished.
 */
int pv_settle_move(char **dest, const char *path, const char *subdir, pv_err *err);

/* Writes `data` to `dir/name` through a temporary file, fsync and rename. */
int pv_settle_write_atomic(const char *dir, const char *name, const char *data,
    size_t len, pv_err *err);

/* mkdir -p */
int pv_mkdirs(const char *path, pv_err *err);

#endif
