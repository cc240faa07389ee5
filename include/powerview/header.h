/* File header: framing, format line, serial-number line, framed JSON header. */
#ifndef POWERVIEW_HEADER_H
#define POWERVIEW_HEADER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "powerview/common.h"
#include "powerview/format.h"
#include "powerview/lines.h"

typedef struct pv_header {
	const pv_format *format;
	char *format_id;  /* as read, also set when unknown (for the report) */
	char *master_sn;
	size_t nchan;     /* N */
	char **serials;   /* N column serials, trimmed */
	char **labels;    /* N label cells, trimmed */
	cJSON *meta;      /* the framed layout's JSON object, else NULL */
} pv_header;

/*
 * Reads the framing and the two header lines; afterwards `l` is positioned
 * on the first data row. PV_EDATA with a reason for any contract violation.
 */
int pv_header_read(pv_header *h, pv_lines *l, const pv_formats *reg, pv_err *err);
void pv_header_free(pv_header *h);

/* A framed header string field (e.g. "MasterType"); NULL if absent or not a string. */
const char *pv_header_meta_string(const pv_header *h, const char *key);

#endif
