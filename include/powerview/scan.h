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

#define PV_PASSED_MAX 1000 /* notes kept; the others are only counted */

typedef struct pv_passed_list {
	pv_passed *items;
	size_t count, cap;
	size_t not_listed; /* notes past PV_PASSED_MAX */
} pv_passed_list;

void pv_passed_free(pv_passed_list *p);
/* One more note (past PV_PASSED_MAX, only counted). */
void pv_passed_add(pv_passed_list *p, pv_passed_kind kind, const char *path, const char *reason);

/* One WARNING line per folder skipped or not entered (with its file count) and per file not taken. */
void pv_passed_log(const pv_passed_list *p);

#define PV_SCAN_DEPTH_MAX 64 /* folders below the data folder; deeper ones are noted, not entered */

/*
 * Every regular `*.tsv` below `dir`, in byte order of the paths. Folders
 * named `parsed` or `error` are the parser's own from the device level down
 * and are not entered; above it (a company, campaign or device folder of
 * that name) they are passed over and noted, with their files. Symbolic
 * links are never followed, hidden files (a leading '.': uploads in
 * progress) are passed over silently. A folder that cannot be read is noted
 * and skipped: only the data folder itself failing is an error (PV_EIO).
 *
 * A walk yields them one at a time in memory that does not grow with their
 * number. pv_walk_open counts them first (and fills `passed`, which may be
 * NULL, with the notes, sorted by path); the files modified less than
 * `min_age` seconds before it are counted apart and never yielded.
 */
typedef struct pv_walk pv_walk;

int pv_walk_open(pv_walk **out, const char *dir, double min_age, pv_passed_list *passed, pv_err *err);
/* A walk over a list of files (the command line's), yielded as they are. */
int pv_walk_list(pv_walk **out, char *const *files, size_t n, pv_err *err);
/* 1 and the next path (valid until the next call), 0 at the end, or an error. */
int pv_walk_next(pv_walk *w, const char **path, pv_err *err);
size_t pv_walk_total(const pv_walk *w); /* the files counted to take */
size_t pv_walk_young(const pv_walk *w); /* the files counted apart as too recent */
void pv_walk_free(pv_walk *w);

/* All of a walk at once, for a listing (`status`) and tests. */
int pv_scan(pv_paths *out, pv_passed_list *passed, const char *dir, pv_err *err);

#endif
