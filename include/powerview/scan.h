/* Finding the files of a data folder. */
#ifndef POWERVIEW_SCAN_H
#define POWERVIEW_SCAN_H

#include <stddef.h>

#include "powerview/common.h"

typedef struct pv_paths {
	char **items;
	size_t count, cap;
} pv_paths;

int pv_paths_add(pv_paths *p, const char *path);
void pv_paths_free(pv_paths *p);

/*
 * Every regular `*.tsv` below `dir`, sorted by path; folders named `parsed`
 * or `error` are not entered, symbolic links are not followed, hidden names
 * (a leading '.') are passed over.
 */
int pv_scan(pv_paths *out, const char *dir, pv_err *err);

/* Drops the paths modified less than `seconds` ago (counted in *dropped) and the vanished ones. */
void pv_paths_keep_older(pv_paths *p, double seconds, size_t *dropped);

#endif
