#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "powerview/channels.h"
#include "powerview/lines.h"

bool
pv_id_scheme_parse(pv_id_scheme *out, const char *s)
{
	if (strcmp(s, "serial") == 0)
		*out = PV_ID_SERIAL;
	else if (strcmp(s, "compact") == 0)
		*out = PV_ID_COMPACT;
	else
		return false;
	return true;
}

static bool
word_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '_' || c >= 0x80;
}

/* ^Ph\s*<digit>\b */
static bool
is_phase(const char *label, char digit)
{
	const char *p = label;

	if (strncmp(p, "Ph", 2) != 0)
		return false;
	p += 2;
	while (*p == ' ' || *p == '\t' || *p == '\v' || *p == '\f')
		p++;
	return p[0] == digit && !word_char((unsigned char)p[1]);
}

static const char *
master_subtype(const pv_header *h)
{
	const char *mt = pv_header_meta_string(h, "MasterType");
	bool ph[3] = { false, false, false };

	if (mt != NULL) {
		size_t n = strlen(mt);
		pv_trim(&mt, &n);
		if (n == 3 && strncasecmp(mt, "tri", 3) == 0)
			return "tri";
		if (n == 4 && strncasecmp(mt, "mono", 4) == 0)
			return "mono";
	}
	for (size_t i = 0; i < h->nchan; i++)
		for (int k = 0; k < 3; k++)
			ph[k] |= is_phase(h->labels[i], (char)('1' + k));
	return ph[0] && ph[1] && ph[2] ? "tri" : "mono";
}

void
pv_channels_free(pv_channels *c)
{
	for (size_t i = 0; i < c->count; i++) {
		pv_channel *ch = &c->items[i];
		free(ch->sn);
		free(ch->name);
		free(ch->unit);
		free(ch->id);
		free(ch->field_key);
		free(ch->lp_prefix);
	}
	free(c->items);
	memset(c, 0, sizeof(*c));
}

int
pv_channels_build(pv_channels *out, const pv_header *h, pv_id_scheme scheme, pv_err *err)
{
	memset(out, 0, sizeof(*out));
	out->items = calloc(h->nchan, sizeof(pv_channel));
	if (out->items == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	out->count = h->nchan;
	out->subtype = master_subtype(h);
	bool tri = strcmp(out->subtype, "tri") == 0;

	for (size_t i = 0; i < h->nchan; i++) {
		pv_channel *ch = &out->items[i];
		const char *cell = h->labels[i], *space = strrchr(cell, ' ');
		unsigned n = 1;
		int rc;

		ch->column = i + 1;
		ch->sn = strdup(h->serials[i]);
		ch->master = strcmp(h->serials[i], h->master_sn) == 0;
		for (size_t j = 0; j < i; j++)
			n += strcmp(h->serials[j], h->serials[i]) == 0;
		if (!ch->master)
			snprintf(ch->label, sizeof(ch->label), "Ch%u", n);
		else if (tri)
			snprintf(ch->label, sizeof(ch->label), n <= 3 ? "U%u" : "Ch%u", n <= 3 ? n : n - 3);
		else
			snprintf(ch->label, sizeof(ch->label), n == 1 ? "U1" : "Ch%u", n - 1);

		/* "<name> <unit>": split at the last space */
		const char *name = cell, *unit = "";
		size_t nlen = strlen(cell), ulen = 0;
		if (space != NULL) {
			nlen = (size_t)(space - cell);
			unit = space + 1;
			ulen = strlen(unit);
		}
		pv_trim(&name, &nlen);
		pv_trim(&unit, &ulen);
		ch->name = strndup(name, nlen);
		ch->unit = strndup(unit, ulen);

		if (scheme == PV_ID_SERIAL)
			rc = asprintf(&ch->id, "%c%s_%s_M%s", ch->master ? 'M' : 'S', h->serials[i], ch->label,
			    h->master_sn);
		else if (ch->master)
			rc = asprintf(&ch->id, "M%s_%s", h->master_sn, ch->label);
		else
			rc = asprintf(&ch->id, "M%s_S%s_%s", h->master_sn, h->serials[i], ch->label);
		if (rc < 0)
			ch->id = NULL;
		if (ch->id && ch->unit && ulen > 0)
			rc = asprintf(&ch->field_key, "%s_%s", ch->id, ch->unit);
		else if (ch->id)
			ch->field_key = strdup(ch->id);
		if (rc < 0)
			ch->field_key = NULL;
		if (ch->sn == NULL || ch->name == NULL || ch->unit == NULL || ch->id == NULL || ch->field_key == NULL) {
			pv_channels_free(out);
			return pv_fail(err, PV_ENOMEM, "out of memory");
		}
	}
	return PV_OK;
}
