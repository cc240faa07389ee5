/* Sinks take line protocol, one file at a time, in batches. */
#ifndef POWERVIEW_SINK_H
#define POWERVIEW_SINK_H

#include <stddef.h>

#include "powerview/common.h"

typedef struct pv_sink pv_sink;

typedef struct pv_sink_ops {
	/* A file's points start; `bucket` is where they belong. */
	int (*begin)(pv_sink *s, const char *bucket, pv_err *err);
	/* A batch of whole lines. PV_ETEMP: try again later; PV_EDATA: rejected. */
	int (*write)(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err);
	/* Every batch of the file is safely stored. */
	int (*commit)(pv_sink *s, pv_err *err);
	/* The file failed: undo what can be undone. Returns 1 when undone. */
	int (*abort)(pv_sink *s);
	void (*free)(pv_sink *s);
} pv_sink_ops;

struct pv_sink {
	const pv_sink_ops *ops;
	size_t batch_lines; /* flush after this many lines ... */
	size_t batch_bytes; /* ... or this many bytes */
};

/* Appends to `path` ("-" is standard output). PV_ECONFIG when it cannot be opened. */
int pv_sink_file_open(pv_sink **out, const char *path, pv_err *err);

void pv_sink_free(pv_sink *s);

#endif
