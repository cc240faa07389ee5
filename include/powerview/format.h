/* The format registry: which format ids exist, in which layout, from which device. */
#ifndef POWERVIEW_FORMAT_H
#define POWERVIEW_FORMAT_H

#include <stddef.h>

#include "powerview/common.h"

typedef enum pv_layout {
	PV_LAYOUT_PLAIN,  /* serial line, format line, rows */
	PV_LAYOUT_FRAMED  /* START_HEADER JSON END_HEADER START_DATA ... END_DATA */
} pv_layout;

typedef struct pv_format {
	const char *id;           /* e.g. "MV_T302_V002" */
	pv_layout layout;
	const char *device_model; /* value of the `device` tag, e.g. "MV2" */
	const char *timezone;     /* zone of its files when no header names one; NULL: the configured one */
	const char *origin;       /* "built-in", or where it was declared ("powerview.yaml:12") */
} pv_format;

/* A table of formats: the built-in one is static, pv_formats_new() makes one to add to. */
typedef struct pv_formats {
	pv_format *items;
	size_t count;
	char **strings;           /* owned by an added-to table */
	size_t nstrings;
} pv_formats;

const pv_formats *pv_formats_builtin(void);

/* A new table holding the built-in formats; NULL when out of memory. */
pv_formats *pv_formats_new(void);
void pv_formats_free(pv_formats *reg);

/* Adds a copy of f (its strings too). PV_EDATA when the id exists already. */
int pv_formats_add(pv_formats *reg, const pv_format *f, pv_err *err);

/* Looks an id up (exact, case-sensitive); NULL when unknown. */
const pv_format *pv_formats_find(const pv_formats *reg, const char *id);

/* Writes "A (plain), B (framed), ..." (the known ids) into buf, for error messages. */
void pv_formats_list(const pv_formats *reg, char *buf, size_t size);

const char *pv_layout_name(pv_layout layout);

#endif
