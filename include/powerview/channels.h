/* Channel mapping: columns of the header to channel ids, labels and tags. */
#ifndef POWERVIEW_CHANNELS_H
#define POWERVIEW_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "powerview/common.h"
#include "powerview/header.h"

typedef enum pv_id_scheme {
	PV_ID_SERIAL,  /* M<sn>_<label>_M<master>, S<sn>_<label>_M<master> */
	PV_ID_COMPACT  /* M<master>_<label>, M<master>_S<sn>_<label> */
} pv_id_scheme;

typedef struct pv_channel {
	size_t column;        /* 1..N */
	char *sn;             /* the column's serial number */
	bool master;
	char label[24];       /* U1, Ch3, ... */
	char *name, *unit, *id, *field_key;
	/* statistics over the points written */
	uint64_t nb_points;
	double min, max, sum;
	double sum_scaled;  /* sum times 2^-64: the mean when `sum` overflowed */
	/* line protocol text up to and including "<field key>=" */
	char *lp_prefix;
	size_t lp_prefix_len;
} pv_channel;

typedef struct pv_channels {
	size_t count;
	pv_channel *items;
	const char *subtype;  /* "tri" or "mono": the master's */
} pv_channels;

/* Builds the mapping of §3 of the data contract. */
int pv_channels_build(pv_channels *out, const pv_header *h, pv_id_scheme scheme, pv_err *err);
void pv_channels_free(pv_channels *c);

/* "serial" or "compact" (TSV_CHANNEL_ID_SCHEME) into *out; false for anything else. */
bool pv_id_scheme_parse(pv_id_scheme *out, const char *s);

#endif
