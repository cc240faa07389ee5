/* The channels already stored in a bucket: a set of distinct tag tuples. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/config.h"
#include "powerview/known.h"

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The five strings of a tuple, NUL-separated, in one block (len: all of it). */
static char *
pack(const char *v[5], size_t *len)
{
	size_t n = 0, l[5];
	char *buf;

	for (int i = 0; i < 5; i++)
		n += (l[i] = strlen(v[i])) + 1;
	if ((buf = malloc(n)) == NULL)
		return NULL;
	for (int i = 0, off = 0; i < 5; off += (int)l[i] + 1, i++)
		memcpy(buf + off, v[i], l[i] + 1);
	*len = n;
	return buf;
}

static size_t
packed_len(const pv_known_channel *c)
{
	const char *end = c->master_sn + strlen(c->master_sn) + 1;

	return (size_t)(end - c->campaign);
}

static int
grow(pv_known *k)
{
	size_t n = k->nslots ? k->nslots * 2 : 1024, *slots;

	while (n < (k->count + 1) * 2)
		n *= 2;
	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return PV_ENOMEM;
	for (size_t i = 0; i < k->count; i++) {
		const pv_known_channel *c = &k->items[i];
		size_t j = hash_bytes(c->campaign, packed_len(c)) & (n - 1);
		while (slots[j] != 0)
			j = (j + 1) & (n - 1);
		slots[j] = i + 1;
	}
	free(k->slots);
	k->slots = slots;
	k->nslots = n;
	return PV_OK;
}

int
pv_known_add(pv_known *k, const char *campaign, const char *id, const char *unit,
    const char *label, const char *master_sn, pv_err *err)
{
	const char *v[5] = { campaign ? campaign : "", id, unit, label ? label : "",
		master_sn ? master_sn : "" };
	pv_known_channel *c;
	size_t len, j;
	char *buf;

	if (id == NULL || id[0] == '\0' || unit == NULL || unit[0] == '\0')
		return PV_OK;
	if ((buf = pack(v, &len)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	/* at most half full */
	if ((k->count + 1) * 2 > k->nslots && grow(k) < 0) {
		free(buf);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	j = hash_bytes(buf, len) & (k->nslots - 1);
	for (; k->slots[j] != 0; j = (j + 1) & (k->nslots - 1)) {
		c = &k->items[k->slots[j] - 1];
		if (packed_len(c) == len && memcmp(c->campaign, buf, len) == 0) {
			free(buf);
			return PV_OK;
		}
	}
	if (k->count >= PV_KNOWN_MAX) {
		free(buf);
		return pv_fail(err, PV_EDATA, "more than %d distinct channels in the bucket", PV_KNOWN_MAX);
	}
	if (k->count == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		pv_known_channel *items = realloc(k->items, cap * sizeof(*items));
		if (items == NULL) {
			free(buf);
			return pv_fail(err, PV_ENOMEM, "out of memory");
		}
		k->items = items;
		k->cap = cap;
	}
	c = &k->items[k->count];
	c->campaign = buf;
	c->id = c->campaign + strlen(c->campaign) + 1;
	c->unit = c->id + strlen(c->id) + 1;
	c->label = c->unit + strlen(c->unit) + 1;
	c->master_sn = c->label + strlen(c->label) + 1;
	k->slots[j] = ++k->count;
	return PV_OK;
}

/*
 * The end of the element at s: the first of `stops` not escaped by a
 * backslash. Line protocol escapes ',' '=' ' ' (and '\' before them).
 */
static const char *
element_end(const char *s, const char *stops)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			continue;
		}
		if (strchr(stops, *s) != NULL)
			break;
	}
	return s;
}

/* s..end unescaped into a new string: "\x" is x for x in ", = \ space", else kept. */
static char *
unescape(const char *s, const char *end)
{
	char *out = malloc((size_t)(end - s) + 1), *w = out;

	if (out == NULL)
		return NULL;
	for (; s < end; s++) {
		if (*s == '\\' && s + 1 < end && strchr(",= \\", s[1]) != NULL)
			s++;
		*w++ = *s;
	}
	*w = '\0';
	return out;
}

/* True when s..end, unescaped, equals want. */
static int
element_is(const char *s, const char *end, const char *want)
{
	for (; s < end; s++, want++) {
		if (*s == '\\' && s + 1 < end && strchr(",= \\", s[1]) != NULL)
			s++;
		if (*want == '\0' || *s != *want)
			return 0;
	}
	return *want == '\0';
}

char *
pv_series_key_tag(const char *key, const char *tag, int *oom)
{
	const char *p = element_end(key, ","), *k, *eq, *v;

	*oom = 0;
	while (*p == ',') {
		k = p + 1;
		eq = element_end(k, ",=");
		if (*eq != '=')
			return NULL; /* not a series key */
		v = eq + 1;
		p = element_end(v, ",");
		if (element_is(k, eq, tag)) {
			char *s = unescape(v, p);
			*oom = s == NULL;
			return s;
		}
	}
	return NULL;
}

int
pv_known_add_series_key(pv_known *k, const char *key, const char *measurement, pv_err *err)
{
	static const char *const names[5] = {
		"campaign", "channel_id", "channel_unit", "channel_label", "device_master_sn"
	};
	char *v[5] = { NULL };
	int rc = PV_OK, oom = 0;

	if (!element_is(key, element_end(key, ","), measurement))
		return PV_OK;
	for (int i = 0; i < 5 && !oom; i++)
		v[i] = pv_series_key_tag(key, names[i], &oom);
	if (oom)
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
	else
		rc = pv_known_add(k, v[0], v[1], v[2], v[3], v[4], err);
	for (int i = 0; i < 5; i++)
		free(v[i]);
	return rc;
}

bool
pv_known_raw_bucket(const char *name, const char *meta)
{
	static const char *const suffixes[] = { "_1h", "_1d", "_1w" };
	size_t len = strlen(name);

	if (len == 0 || name[0] == '_' || strcmp(name, meta ? meta : pv_settings_default("influxdb.meta_bucket")) == 0)
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (len > 3 && strcmp(name + len - 3, suffixes[i]) == 0)
			return false;
	return true;
}

static int
cmp_channel(const void *a, const void *b)
{
	const pv_known_channel *x = a, *y = b;
	int c;

	if ((c = strcmp(x->campaign, y->campaign)) != 0 || (c = strcmp(x->id, y->id)) != 0 ||
	    (c = strcmp(x->unit, y->unit)) != 0 || (c = strcmp(x->label, y->label)) != 0)
		return c;
	return strcmp(x->master_sn, y->master_sn);
}

void
pv_known_sort(pv_known *k)
{
	if (k->count > 1)
		qsort(k->items, k->count, sizeof(*k->items), cmp_channel);
	/* the slots point at the old order: lookups are over */
	free(k->slots);
	k->slots = NULL;
	k->nslots = 0;
}

void
pv_known_free(pv_known *k)
{
	for (size_t i = 0; i < k->count; i++)
		free((char *)k->items[i].campaign);
	free(k->items);
	free(k->slots);
	memset(k, 0, sizeof(*k));
}
