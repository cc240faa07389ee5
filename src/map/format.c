#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/format.h"

/* Known logger formats, as data: a later loader adds more from YAML. */
static pv_format builtin[] = {
	{ "MV_T302_V002", PV_LAYOUT_PLAIN, "MV2", NULL, "built-in" },
	{ "MV_T302_V003", PV_LAYOUT_FRAMED, "MV2", NULL, "built-in" },
};

static const pv_formats builtin_formats = {
	builtin, sizeof(builtin) / sizeof(builtin[0]), NULL, 0
};

pv_formats *
pv_formats_new(void)
{
	pv_formats *reg = calloc(1, sizeof(*reg));

	if (reg == NULL || (reg->items = malloc(sizeof(builtin))) == NULL) {
		free(reg);
		return NULL;
	}
	memcpy(reg->items, builtin, sizeof(builtin));
	reg->count = builtin_formats.count;
	return reg;
}

void
pv_formats_free(pv_formats *reg)
{
	if (reg == NULL || reg == &builtin_formats)
		return;
	for (size_t i = 0; i < reg->nstrings; i++)
		free(reg->strings[i]);
	free(reg->strings);
	free(reg->items);
	free(reg);
}

/* A copy the table owns; NULL stays NULL. */
static int
own(pv_formats *reg, const char **s)
{
	char **list, *copy;

	if (*s == NULL)
		return PV_OK;
	if ((copy = strdup(*s)) == NULL ||
	    (list = realloc(reg->strings, (reg->nstrings + 1) * sizeof(char *))) == NULL) {
		free(copy);
		return PV_ENOMEM;
	}
	reg->strings = list;
	reg->strings[reg->nstrings++] = copy;
	*s = copy;
	return PV_OK;
}

int
pv_formats_add(pv_formats *reg, const pv_format *f, pv_err *err)
{
	pv_format copy = *f, *items;

	if (pv_formats_find(reg, f->id) != NULL)
		return pv_fail(err, PV_EDATA, "format %s is defined twice", f->id);
	if (own(reg, &copy.id) < 0 || own(reg, &copy.device_model) < 0 ||
	    own(reg, &copy.timezone) < 0 || own(reg, &copy.origin) < 0 ||
	    (items = realloc(reg->items, (reg->count + 1) * sizeof(pv_format))) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	reg->items = items;
	reg->items[reg->count++] = copy;
	return PV_OK;
}

const pv_formats *
pv_formats_builtin(void)
{
	return &builtin_formats;
}

const pv_format *
pv_formats_find(const pv_formats *reg, const char *id)
{
	for (size_t i = 0; i < reg->count; i++)
		if (strcmp(reg->items[i].id, id) == 0)
			return &reg->items[i];
	return NULL;
}

void
pv_formats_list(const pv_formats *reg, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < reg->count && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s (%s)", i ? ", " : "", reg->items[i].id,
		    pv_layout_name(reg->items[i].layout));
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

const char *
pv_layout_name(pv_layout layout)
{
	return layout == PV_LAYOUT_FRAMED ? "framed" : "plain";
}
