/* The format registry: which format ids exist, in which layout, from which device. */
#ifndef POWERVIEW_FORMAT_H
#define POWERVIEW_FORMAT_H

#include <stddef.h>

typedef enum pv_layout {
	PV_LAYOUT_PLAIN,  /* serial line, format line, rows */
	PV_LAYOUT_FRAMED  /* START_HEADER JSON END_HEADER START_DATA ... END_DATA */
} pv_layout;

typedef struct pv_format {
	const char *id;           /* e.g. "MV_T302_V002" */
	pv_layout layout;
	const char *device_model; /* value of the `device` tag, e.g. "MV2" */
} pv_format;

/* A table of formats. The built-in one is static; a later loader adds entries. */
typedef struct pv_formats {
	const pv_format *items;
	size_t count;
} pv_formats;

const pv_formats *pv_formats_builtin(void);

/* Looks an id up (exact, case-sensitive); NULL when unknown. */
const pv_format *pv_formats_find(const pv_formats *reg, const char *id);

/* Writes "A, B, ..." (the known ids) into buf, for error messages. */
void pv_formats_list(const pv_formats *reg, char *buf, size_t size);

const char *pv_layout_name(pv_layout layout);

#endif
