/*
 * The spool: each upload copied at once into a folder of the service's own,
 * then ingested from that copy by one worker. The tenant's folder is read
 * once, in milliseconds; what it does to its file afterwards (truncate,
 * rewrite, replace, link) changes nothing that is ingested.
 *
 * Layout: <spool>/<path below the data folder> is the copy ("<file>~1",
 * "~2", ... when another upload of the same name still waits), and
 * ".id/<copy name>" beside it says which original it is (its path below
 * the data folder, device, inode, size, modification time). The copy
 * appears last, by a link of a finished, fsynced file: a copy in the spool
 * is whole and has its .id. ".data" names the data folder the spool serves,
 * ".lock" guards the short steps that change the spool, ".worker.lock" is
 * held by the one worker, ".queued" is rewritten after each new copy (for a
 * systemd path unit), ".last-run.json" is the worker's last run.
 */
#ifndef POWERVIEW_SPOOL_H
#define POWERVIEW_SPOOL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

#include "powerview/common.h"

typedef struct pv_spool pv_spool;

/* What tells one upload from another: the same four values, the same file. */
typedef struct pv_identity {
	unsigned long long dev, ino;
	long long size;
	struct timespec mtime;
} pv_identity;

/* A copy waiting in the spool. */
typedef struct pv_spool_entry {
	char *copy;             /* below the spool folder: "acme/c1/d1/f.tsv~1" */
	char *path;             /* the original: "<data folder>/acme/c1/d1/f.tsv" */
	pv_identity id;         /* the original's, when it was copied */
	struct timespec queued; /* when it was copied */
} pv_spool_entry;

void pv_spool_entry_free(pv_spool_entry *e);

/* <data folder, links resolved>/../spool, or NULL. */
char *pv_spool_default_dir(const char *data_dir);

/*
 * Opens the spool folder `dir` of data folder `data_dir`, creating it mode
 * 0700. PV_ECONFIG when it lies inside the data folder (a tenant could
 * reach it) or serves another data folder, PV_EIO when it cannot be made
 * or opened.
 */
int pv_spool_open(pv_spool **out, const char *dir, const char *data_dir, pv_err *err);
void pv_spool_free(pv_spool *sp);
const char *pv_spool_dir(const pv_spool *sp);

/* How pv_spool_add ended. */
typedef enum pv_spooled {
	PV_SPOOL_COPIED,   /* copied now */
	PV_SPOOL_ALREADY,  /* a copy of the same upload waits already */
	PV_SPOOL_REFUSED,  /* not a file the parser takes (PV_EDATA) */
	PV_SPOOL_GONE,     /* vanished, or moved or replaced meanwhile (PV_ENOENT) */
	PV_SPOOL_CHANGED,  /* written to while it was copied (PV_ETEMP) */
	PV_SPOOL_UNREADABLE, /* the original cannot be read: it waits in place (PV_EIO) */
	PV_SPOOL_FAILED    /* the spool cannot be written (PV_EIO) */
} pv_spooled;

/*
 * Copies `file` (below the data folder, no link followed, regular, "*.tsv",
 * nothing hidden and no parsed/ or error/ on its way) into the spool; when
 * it returns PV_OK the copy is durable. *how says what happened; *copy, when
 * not NULL, receives the copy's path below the spool on PV_SPOOL_COPIED.
 */
int pv_spool_add(pv_spool *sp, pv_spooled *how, char **copy, const char *file, pv_err *err);

/*
 * Many copies, one flush: after pv_spool_batch, pv_spool_add no longer
 * fsyncs each copy; pv_spool_sync flushes them all (syncfs) and ends the
 * batch. A scan's spool step, whose originals stay in place until the
 * worker settles them, makes 20 000 copies with one flush, not 60 000.
 */
void pv_spool_batch(pv_spool *sp);
int pv_spool_sync(pv_spool *sp, pv_err *err);

/* The worker's lock: 1 taken, 0 when another worker holds it. */
int pv_spool_lock(pv_spool *sp, pv_err *err);

/*
 * The next copy, oldest first (then by name): 1 and *e (the caller's), 0 at
 * the end. Memory does not grow with the copies waiting: each pass over the
 * spool keeps the next 1024 only. Copies that come during the run are
 * yielded too, once the older ones are.
 */
int pv_spool_next(pv_spool *sp, pv_spool_entry **e, pv_err *err);

/* How many copies wait. */
int pv_spool_count(pv_spool *sp, size_t *n, pv_err *err);

/*
 * After the last copy yielded has been settled: lets the worker's lock go,
 * then looks again, so that a copy made while a second worker was turned
 * away is not left behind. 1: there are new copies and the lock is ours
 * again; 0: done.
 */
int pv_spool_again(pv_spool *sp, pv_err *err);

/* Opens the copy for reading; *abs (optional) its absolute path. */
int pv_spool_open_copy(pv_spool *sp, const pv_spool_entry *e, int *fd, char **abs, pv_err *err);

/*
 * The copy is ingested: moves the original into `subdir` (parsed or error)
 * when it is still the upload that was copied, then removes the copy.
 * PV_OK and *dest when moved. PV_ENOENT, with the reason, when the original
 * is gone or is another upload now (it is left for its own copy); the copy
 * is removed all the same. PV_EIO when the move failed: the copy stays.
 */
int pv_spool_settle(pv_spool *sp, const pv_spool_entry *e, const char *subdir, char **dest, pv_err *err);

/* Removes a copy that cannot be ingested (damaged); the original stays. */
void pv_spool_drop(pv_spool *sp, const pv_spool_entry *e);

/* Writes the worker's last run (`run`, a JSON object) to .last-run.json. */
int pv_spool_record_run(pv_spool *sp, const cJSON *run, pv_err *err);

/*
 * What waits in spool folder `dir`, without creating it: {"dir", "waiting",
 * "oldest_age_s", "worker_running", "last_run"}.
 */
int pv_spool_stats(cJSON **out, const char *dir, pv_err *err);

#endif
