/* Finding the files of a data folder. */
#ifndef POWERVIEW_SCAN_H
#define POWERVIEW_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "powerview/common.h"

typedef struct pv_paths {
	char **items;
	size_t count, cap;
} pv_paths;

int pv_paths_add(pv_paths *p, const char *path);
void pv_paths_free(pv_paths *p);

/* What a scan passed over, and why: nothing in the data folder is silently invisible. */
typedef enum pv_passed_kind {
	PV_PASSED_UNREADABLE, /* a folder the scan cannot read (a tenant's chmod 000) */
	PV_PASSED_FOLDER,     /* a folder not entered: parsed/ or error/ above the device level, hidden, too deep */
	PV_PASSED_IN_FOLDER,  /* a *.tsv file inside such a folder */
	PV_PASSED_FILE        /* a link, a special file or a name like "x.TSV" */
} pv_passed_kind;

typedef struct pv_passed {
	pv_passed_kind kind;
	char *path;
	char *reason;
	size_t nb_files; /* PV_PASSED_FOLDER: the *.tsv files below it */
} pv_passed;

typedef struct pv_passed_list {
	pv_passed *items;
	size_t count, cap;
} pv_passed_list;

void pv_passed_free(pv_passed_list *p);

/* One WARNING line per folder skipped or not entered (with its file count) and per file not taken. */
void pv_passed_log(const pv_passed_list *p);

#define PV_SCAN_DEPTH_MAX 64 /* folders below the data folder; deeper ones are noted, not entered */

/*
 * Every regular `*.tsv` below `dir`, sorted by path. Folders named `parsed`
 * or `error` are the parser's own from the device level down and are not
 * entered; above it (a company, campaign or device folder of that name)
 * they are passed over and noted, with their files. Symbolic links are
 * never followed, hidden files (a leading '.': uploads in progress) are
 * passed over silently. A folder that cannot be read is noted and skipped:
 * only the data folder itself failing is an error (PV_EIO). `passed` (may
 * be NULL) receives the notes, sorted by path.
 */
int pv_scan(pv_paths *out, pv_passed_list *passed, const char *dir, pv_err *err);

/* Drops the paths modified less than `seconds` ago (counted in *dropped) and the vanished ones. */
void pv_paths_keep_older(pv_paths *p, double seconds, size_t *dropped);

#endif
