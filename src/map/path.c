#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powerview/lines.h"
#include "powerview/path.h"

char *
pv_path_absolute(const char *path)
{
	char *joined, *out, *cwd = NULL;
	size_t n, used = 0;

	if (path[0] != '/') {
		if ((cwd = getcwd(NULL, 0)) == NULL)
			return NULL;
		if (asprintf(&joined, "%s/%s", cwd, path) < 0)
			joined = NULL;
		free(cwd);
	} else
		joined = strdup(path);
	if (joined == NULL)
		return NULL;
	n = strlen(joined);
	if ((out = malloc(n + 2)) == NULL) {
		free(joined);
		return NULL;
	}
	/* Fold "//", "." and ".." component by component. */
	for (char *p = joined; *p;) {
		while (*p == '/')
			p++;
		char *c = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - c);
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			while (used > 0 && out[used - 1] != '/')
				used--;
			if (used > 0)
				used--;
			continue;
		}
		out[used++] = '/';
		memcpy(out + used, c, len);
		used += len;
	}
	if (used == 0)
		out[used++] = '/';
	out[used] = '\0';
	free(joined);
	return out;
}

/* The part of abs below base, or NULL when abs is not below it. */
static const char *
below(const char *base, const char *abs)
{
	size_t blen = strcmp(base, "/") == 0 ? 0 : strlen(base);

	if (strncmp(abs, base, blen) != 0 || abs[blen] != '/' || abs[blen + 1] == '\0')
		return NULL;
	return abs + blen + 1;
}

char *
pv_path_below(const char *data_dir, const char *file)
{
	char *base = pv_path_absolute(data_dir), *abs = pv_path_absolute(file);
	const char *rel = base && abs ? below(base, abs) : NULL;
	char *out = rel ? strdup(rel) : NULL;

	free(base);
	free(abs);
	return out;
}

const char *
pv_name_problem(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return "is empty";
	if (n > 255)
		return "is longer than 255 bytes";
	if (name[0] == '_')
		return "starts with '_'";
	/* line protocol, Flux and the JSON report are UTF-8 */
	if (!pv_utf8_valid(name, n))
		return "is not valid UTF-8";
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7F)
			return "contains a control character";
		if (*p == '"' || *p == '\\')
			return "contains '\"' or '\\'";
	}
	return NULL;
}

void
pv_location_free(pv_location *loc)
{
	free(loc->company);
	free(loc->campaign);
	free(loc->device);
	free(loc->file_name);
	memset(loc, 0, sizeof(*loc));
}

int
pv_location_parse(pv_location *loc, const char *data_dir, const char *file, pv_err *err)
{
	char *base = pv_path_absolute(data_dir), *abs = pv_path_absolute(file);
	char *parts[3] = { NULL, NULL, NULL };
	const char *rel, *bad;
	size_t nparts = 0;
	int rc = PV_OK;

	memset(loc, 0, sizeof(*loc));
	if (base == NULL || abs == NULL) {
		rc = pv_fail(err, PV_ENOMEM, "cannot make the path absolute");
		goto out;
	}
	const char *slash = strrchr(abs, '/');
	loc->file_name = strdup(slash + 1);
	if ((rel = below(base, abs)) == NULL) {
		rc = pv_fail(err, PV_EDATA, "%s is outside the data folder %s", file, data_dir);
		goto out;
	}
	/* company/campaign/device/.../file: at least four parts */
	for (const char *p = rel; nparts < 3;) {
		const char *s = strchr(p, '/');
		if (s == NULL)
			break;
		parts[nparts++] = strndup(p, (size_t)(s - p));
		p = s + 1;
	}
	if (nparts < 3) {
		rc = pv_fail(err, PV_EDATA,
		    "invalid path structure: %s (expected <company>/<campaign>/<device>/<file> below the data folder)",
		    file);
		goto out;
	}
	if ((bad = pv_name_problem(parts[0])) != NULL) {
		rc = pv_fail(err, PV_EDATA, "company folder name %s", bad);
		goto out;
	}
	if ((bad = pv_name_problem(parts[1])) != NULL) {
		rc = pv_fail(err, PV_EDATA, "campaign folder name %s", bad);
		goto out;
	}
	if (!pv_utf8_valid(parts[2], strlen(parts[2]))) {
		rc = pv_fail(err, PV_EDATA, "device folder name is not valid UTF-8");
		goto out;
	}
	if (!pv_utf8_valid(loc->file_name, strlen(loc->file_name))) {
		rc = pv_fail(err, PV_EDATA, "file name is not valid UTF-8");
		goto out;
	}
	loc->company = parts[0];
	loc->campaign = parts[1];
	loc->device = parts[2];
	parts[0] = parts[1] = parts[2] = NULL;
out:
	for (size_t i = 0; i < 3; i++)
		free(parts[i]);
	free(base);
	free(abs);
	return rc;
}
