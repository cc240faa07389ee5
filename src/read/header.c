#include <stdlib.h>
#include <string.h>

#include "powerview/header.h"
#include "powerview/lp.h"

#define HEADER_JSON_MAX (64 * 1024)
#define MAX_CHANNELS 4096

/* Next non-blank line; 0 at end of file. */
static int
next_nonblank(pv_lines *l, const char **s, size_t *n, pv_err *err)
{
	int rc;

	while ((rc = pv_lines_next(l, s, n, err)) == 1)
		if (!pv_line_blank(*s, *n))
			return 1;
	return rc;
}

static bool
is_marker(const char *s, size_t n, const char *marker)
{
	pv_trim(&s, &n);
	return n == strlen(marker) && memcmp(s, marker, n) == 0;
}

static void
free_cells(char **cells, size_t count)
{
	if (cells == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free(cells[i]);
	free(cells);
}

/* Splits on TAB, trims each cell and drops trailing empty cells. */
static int
split_cells(char ***out, size_t *count, const char *s, size_t n, pv_err *err)
{
	size_t cap = 1, used = 0;
	char **cells;

	for (size_t i = 0; i < n; i++)
		cap += s[i] == '\t';
	if (cap > MAX_CHANNELS + 1)
		return pv_fail(err, PV_EDATA, "too many columns in header (%zu, at most %d channels)",
		    cap, MAX_CHANNELS);
	cells = calloc(cap, sizeof(*cells));
	if (cells == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	const char *p = s, *end = s + n;
	for (;;) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		const char *c = p;
		size_t len = (size_t)((tab ? tab : end) - p);
		pv_trim(&c, &len);
		if (memchr(c, '\0', len) != NULL) {
			free_cells(cells, used);
			return pv_fail(err, PV_EDATA, "unsupported character 0x00 in header column %zu", used);
		}
		cells[used] = strndup(c, len);
		if (cells[used++] == NULL) {
			free_cells(cells, used);
			return pv_fail(err, PV_ENOMEM, "out of memory");
		}
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	while (used > 0 && cells[used - 1][0] == '\0')
		free(cells[--used]);
	*out = cells;
	*count = used;
	return PV_OK;
}

/* The cells become tag values: the tag-safe rule of pv_lp_tag_unsafe. */
static int
check_cell(const char *cell, const char *what, size_t col, pv_err *err)
{
	const char *bad = pv_lp_tag_unsafe(cell);

	if (bad != NULL)
		return pv_fail(err, PV_EDATA, "unsupported character 0x%02X in %s of column %zu",
		    (unsigned char)*bad, what, col);
	return PV_OK;
}

static int
read_framed_json(pv_header *h, pv_lines *l, pv_err *err)
{
	const char *s;
	size_t n, used = 0;
	char *json = malloc(HEADER_JSON_MAX + 1);
	int rc;

	if (json == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	for (;;) {
		rc = pv_lines_next(l, &s, &n, err);
		if (rc < 0)
			goto out;
		if (rc == 0 || is_marker(s, n, "START_DATA")) {
			rc = pv_fail(err, PV_EDATA, "missing END_HEADER");
			goto out;
		}
		if (is_marker(s, n, "END_HEADER"))
			break;
		if (used + n + 1 > HEADER_JSON_MAX) {
			rc = pv_fail(err, PV_EDATA, "header longer than %d bytes", HEADER_JSON_MAX);
			goto out;
		}
		memcpy(json + used, s, n);
		used += n;
		json[used++] = '\n';
	}
	json[used] = '\0';
	/* the length counts the NUL, or cJSON rejects the end as not terminated */
	h->meta = cJSON_ParseWithLengthOpts(json, used + 1, NULL, 1);
	if (h->meta == NULL || !cJSON_IsObject(h->meta)) {
		rc = pv_fail(err, PV_EDATA, "header is not one valid JSON object");
		goto out;
	}
	rc = next_nonblank(l, &s, &n, err);
	if (rc == 1 && !is_marker(s, n, "START_DATA"))
		rc = 0;
	if (rc == 0)
		rc = pv_fail(err, PV_EDATA, "missing START_DATA");
	else if (rc == 1)
		rc = PV_OK;
out:
	free(json);
	return rc;
}

int
pv_header_read(pv_header *h, pv_lines *l, const pv_formats *reg, pv_err *err)
{
	const char *s;
	size_t n, nserial = 0, nformat = 0;
	char **serial = NULL, **format = NULL, *serial_line = NULL;
	size_t serial_len;
	pv_layout layout = PV_LAYOUT_PLAIN;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = next_nonblank(l, &s, &n, err);
	if (rc == 0)
		return pv_fail(err, PV_EDATA, "empty file");
	if (rc < 0)
		return rc;
	if (is_marker(s, n, "START_HEADER")) {
		layout = PV_LAYOUT_FRAMED;
		if ((rc = read_framed_json(h, l, err)) < 0)
			return rc;
		rc = next_nonblank(l, &s, &n, err);
		if (rc == 0)
			return pv_fail(err, PV_EDATA, "missing serial-number line");
		if (rc < 0)
			return rc;
	}
	/* The serial line is kept raw: the format line decides what is wrong first. */
	if ((serial_line = malloc(n + 1)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	memcpy(serial_line, s, n);
	serial_len = n;
	rc = next_nonblank(l, &s, &n, err);
	if (rc == 0)
		rc = pv_fail(err, PV_EDATA, "missing format line");
	if (rc < 0)
		goto out;
	if ((rc = split_cells(&format, &nformat, s, n, err)) < 0)
		goto out;
	h->format_id = strdup(nformat ? format[0] : "");
	if (h->format_id == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	h->format = pv_formats_find(reg, h->format_id);
	if (h->format == NULL || h->format->layout != layout) {
		char known[512];
		/* the ids that would do, so that the fix is one line of powerview.yaml away */
		pv_formats_list(reg, known, sizeof(known));
		h->format = NULL;
		rc = pv_fail(err, PV_EDATA, "unsupported format: %.200s in the %s layout (known: %s)",
		    h->format_id, pv_layout_name(layout), known);
		goto out;
	}
	if ((rc = split_cells(&serial, &nserial, serial_line, serial_len, err)) < 0)
		goto out;
	if (nserial <= 1) {
		rc = pv_fail(err, PV_EDATA, "no channels");
		goto out;
	}
	h->nchan = nserial - 1;
	if (nformat == 0 || nformat - 1 != h->nchan) {
		rc = pv_fail(err, PV_EDATA, "header mismatch: %zu serial numbers, %zu channel labels",
		    h->nchan, nformat ? nformat - 1 : 0);
		goto out;
	}
	for (size_t i = 0; i < nserial; i++) {
		if (serial[i][0] == '\0') {
			rc = pv_fail(err, PV_EDATA, "empty serial number in column %zu", i);
			goto out;
		}
		if ((rc = check_cell(serial[i], "serial number", i, err)) < 0)
			goto out;
		if (i > 0 && (rc = check_cell(format[i], "channel label", i, err)) < 0)
			goto out;
	}
	/* Hand the cells over: column i of the file is index i-1 here. */
	h->master_sn = serial[0];
	h->serials = serial;
	h->labels = format;
	free(format[0]);
	memmove(h->serials, h->serials + 1, h->nchan * sizeof(char *));
	memmove(h->labels, h->labels + 1, h->nchan * sizeof(char *));
	serial = format = NULL;
	rc = PV_OK;
out:
	free(serial_line);
	free_cells(serial, nserial);
	free_cells(format, nformat);
	return rc;
}

void
pv_header_free(pv_header *h)
{
	if (h->serials) {
		for (size_t i = 0; i < h->nchan; i++)
			free(h->serials[i]);
		free(h->serials);
	}
	if (h->labels) {
		for (size_t i = 0; i < h->nchan; i++)
			free(h->labels[i]);
		free(h->labels);
	}
	free(h->master_sn);
	free(h->format_id);
	cJSON_Delete(h->meta);
	memset(h, 0, sizeof(*h));
}

const char *
pv_header_meta_string(const pv_header *h, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(h->meta, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}
