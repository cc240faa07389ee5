/* Where a file sits: <data>/<company>/<campaign>/<device>/<file>. */
#ifndef POWERVIEW_PATH_H
#define POWERVIEW_PATH_H

#include <stdbool.h>

#include "powerview/common.h"

typedef struct pv_location {
	char *company;   /* the bucket */
	char *campaign;
	char *device;    /* the device folder */
	char *file_name; /* base name */
} pv_location;

/*
 * Splits `file` relative to `data_dir`, both made absolute lexically (no
 * symlink resolution). PV_EDATA when outside, too shallow, or a company or
 * campaign name InfluxDB or Flux would choke on.
 */
int pv_location_parse(pv_location *loc, const char *data_dir, const char *file, pv_err *err);
void pv_location_free(pv_location *loc);

/* The part of `file` below `data_dir` ("acme/c/d/f.tsv"), both made absolute
 * lexically; NULL when outside (or out of memory). */
char *pv_path_below(const char *data_dir, const char *file);

/* Lexical absolute path: joins with the working folder, folds ".", ".." and "//". */
char *pv_path_absolute(const char *path);

/* A name fit for a bucket or a tag: no control character, `"` or `\`, not
 * starting with `_`, 1..255 bytes. Returns NULL when fine, else the reason. */
const char *pv_name_problem(const char *name);

#endif
