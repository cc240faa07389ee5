#include <stdio.h>
#include <string.h>

#include "powerview/format.h"

/* Known logger formats, as data: a later loader adds more from YAML. */
static const pv_format builtin[] = {
	{ "MV_T302_V002", PV_LAYOUT_PLAIN, "MV2" },
	{ "MV_T302_V003", PV_LAYOUT_FRAMED, "MV2" },
};

static const pv_formats builtin_formats = {
	builtin, sizeof(builtin) / sizeof(builtin[0])
};

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
		int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", reg->items[i].id);
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
