#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "yamltree.h"

struct pv_ytree {
	pv_ynode **all;          /* every node, to free them */
	size_t count, cap;
	struct {
		char *name;
		const pv_ynode *node;
	} anchors[PV_YAML_ANCHORS_MAX];
	size_t nanchors;
};

void
pv_ytree_free(pv_ytree *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->count; i++) {
		if (!t->all[i]->shared)
			free(t->all[i]->value);
		free(t->all[i]->kids);
		free(t->all[i]);
	}
	for (size_t i = 0; i < t->nanchors; i++)
		free(t->anchors[i].name);
	free(t->all);
	free(t);
}

static pv_ynode *
new_node(pv_ytree *t, yaml_node_type_t type, yaml_mark_t mark)
{
	pv_ynode *n;

	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		pv_ynode **all = realloc(t->all, cap * sizeof(*all));
		if (all == NULL)
			return NULL;
		t->all = all;
		t->cap = cap;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->type = type;
	n->mark = mark;
	t->all[t->count++] = n;
	return n;
}

static int
add_kid(pv_ynode *parent, pv_ynode *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		pv_ynode **kids = realloc(parent->kids, cap * sizeof(*kids));
		if (kids == NULL)
			return PV_ENOMEM;
		parent->kids = kids;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return PV_OK;
}

static int
fail_at(pv_err *err, const char *path, yaml_mark_t m, const char *why)
{
	return pv_fail(err, PV_ECONFIG, "%s:%zu:%zu: %s", path, m.line + 1, m.column + 1, why);
}

/* The node an alias names, or NULL with the reason in err. */
static const pv_ynode *
anchored(pv_ytree *t, const yaml_event_t *ev, const char *path, pv_err *err)
{
	for (size_t i = 0; i < t->nanchors; i++) {
		if (strcmp(t->anchors[i].name, (const char *)ev->data.alias.anchor) != 0)
			continue;
		if (t->anchors[i].node->type != YAML_SCALAR_NODE) {
			fail_at(err, path, ev->start_mark,
			    "an alias may only stand for a single value, not a list or a mapping");
			return NULL;
		}
		return t->anchors[i].node;
	}
	/* libyaml's loader says the same */
	fail_at(err, path, ev->start_mark, "found undefined alias");
	return NULL;
}

static int
add_anchor(pv_ytree *t, const yaml_char_t *name, const pv_ynode *n, const char *path, pv_err *err)
{
	char why[160];

	if (name == NULL)
		return PV_OK;
	for (size_t i = 0; i < t->nanchors; i++)
		if (strcmp(t->anchors[i].name, (const char *)name) == 0) {
			snprintf(why, sizeof(why), "found duplicate anchor; first occurrence at line %zu, column %zu",
			    t->anchors[i].node->mark.line + 1, t->anchors[i].node->mark.column + 1);
			return fail_at(err, path, n->mark, why);
		}
	if (t->nanchors == PV_YAML_ANCHORS_MAX) {
		snprintf(why, sizeof(why), "more than %d anchors", PV_YAML_ANCHORS_MAX);
		return fail_at(err, path, n->mark, why);
	}
	if ((t->anchors[t->nanchors].name = strdup((const char *)name)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	t->anchors[t->nanchors++].node = n;
	return PV_OK;
}

/* One event into the tree: stack[0..*depth) are the open collections. */
static int
take_event(pv_ytree *t, const yaml_event_t *ev, pv_ynode **stack, size_t *depth, const pv_ynode **root,
    const char *path, pv_err *err)
{
	const yaml_char_t *anchor = NULL;
	const pv_ynode *target;
	pv_ynode *n = NULL;
	char why[80];
	int rc;

	switch (ev->type) {
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		(*depth)--;
		return PV_OK;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		/* the limit is checked before libyaml reads deeper */
		if (*depth == PV_YAML_DEPTH_MAX) {
			snprintf(why, sizeof(why), "nesting deeper than %d levels", PV_YAML_DEPTH_MAX);
			return fail_at(err, path, ev->start_mark, why);
		}
		break;
	case YAML_SCALAR_EVENT:
	case YAML_ALIAS_EVENT:
		break;
	default:
		return PV_OK; /* stream and document start */
	}
	if (t->count == PV_YAML_NODES_MAX) {
		snprintf(why, sizeof(why), "more than %d values, lists and mappings", PV_YAML_NODES_MAX);
		return fail_at(err, path, ev->start_mark, why);
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if ((n = new_node(t, YAML_SCALAR_NODE, ev->start_mark)) == NULL ||
		    (n->value = malloc(ev->data.scalar.length + 1)) == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
		n->value[ev->data.scalar.length] = '\0';
		n->style = ev->data.scalar.style;
		anchor = ev->data.scalar.anchor;
		break;
	case YAML_ALIAS_EVENT:
		/* the anchored value itself, not a copy: no alias can multiply memory */
		if ((target = anchored(t, ev, path, err)) == NULL)
			return PV_ECONFIG;
		if ((n = new_node(t, YAML_SCALAR_NODE, ev->start_mark)) == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		n->value = target->value;
		n->style = target->style;
		n->shared = 1;
		break;
	case YAML_SEQUENCE_START_EVENT:
		if ((n = new_node(t, YAML_SEQUENCE_NODE, ev->start_mark)) == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		anchor = ev->data.sequence_start.anchor;
		break;
	default:
		if ((n = new_node(t, YAML_MAPPING_NODE, ev->start_mark)) == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		anchor = ev->data.mapping_start.anchor;
		break;
	}
	if ((rc = add_anchor(t, anchor, n, path, err)) < 0)
		return rc;
	if (*depth == 0)
		*root = n;
	else if (add_kid(stack[*depth - 1], n) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	if (n->type != YAML_SCALAR_NODE)
		stack[(*depth)++] = n;
	return PV_OK;
}

int
pv_ytree_load(pv_ytree **out, const pv_ynode **root, FILE *f, const char *path, pv_err *err)
{
	pv_ytree *t = calloc(1, sizeof(*t));
	pv_ynode *stack[PV_YAML_DEPTH_MAX];
	size_t depth = 0;
	yaml_parser_t parser;
	yaml_event_t ev;
	int rc = PV_OK;

	*out = NULL;
	*root = NULL;
	if (t == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = pv_fail(err, PV_ECONFIG, "%s:%zu:%zu: %s%s%s", path, parser.problem_mark.line + 1,
			    parser.problem_mark.column + 1, parser.problem ? parser.problem : "malformed YAML",
			    parser.context ? " " : "", parser.context ? parser.context : "");
			break;
		}
		/* the first document only, as yaml_parser_load reads it */
		bool last = ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
		rc = take_event(t, &ev, stack, &depth, root, path, err);
		yaml_event_delete(&ev);
		if (rc < 0 || last)
			break;
	}
	yaml_parser_delete(&parser);
	if (rc < 0) {
		pv_ytree_free(t);
		*root = NULL;
		return rc;
	}
	*out = t;
	return PV_OK;
}
