/*
 * The first document of a YAML file as a small tree, built from libyaml's
 * event parser with bounds: libyaml's own loader (yaml_parser_load) took
 * minutes over 200 000 nested '[' and knows no limit. Private to
 * src/config/.
 */
#ifndef POWERVIEW_YAMLTREE_H
#define POWERVIEW_YAMLTREE_H

#include <stdio.h>
#include <yaml.h>

#include "powerview/common.h"

#define PV_YAML_DEPTH_MAX 64      /* mappings and sequences inside one another */
#define PV_YAML_NODES_MAX 100000  /* scalars, mappings, sequences and aliases */
#define PV_YAML_ANCHORS_MAX 256

typedef struct pv_ynode pv_ynode;
struct pv_ynode {
	yaml_node_type_t type;       /* YAML_SCALAR_NODE, _SEQUENCE_NODE, _MAPPING_NODE */
	yaml_mark_t mark;            /* where it starts (an alias: where the alias is) */
	char *value;                 /* a scalar, NUL-terminated */
	yaml_scalar_style_t style;
	pv_ynode **kids;             /* a sequence: items; a mapping: key, value, key, value... */
	size_t n, cap;
	int shared;                  /* an alias: value belongs to the anchored node */
};

typedef struct pv_ytree pv_ytree;

/*
 * Reads the first document of f. Aliases may name a scalar only (a list or
 * mapping would be repeated, which no setting needs). PV_ECONFIG with
 * "path:line:column: reason" for malformed YAML or a bound passed;
 * PV_ENOMEM. *root is NULL for an empty file.
 */
int pv_ytree_load(pv_ytree **out, const pv_ynode **root, FILE *f, const char *path, pv_err *err);
void pv_ytree_free(pv_ytree *t);

#endif
