/* Settings: built-in defaults < powerview.yaml < .env < environment < command line. */
#ifndef POWERVIEW_CONFIG_H
#define POWERVIEW_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "powerview/common.h"
#include "powerview/format.h"

typedef struct pv_settings pv_settings;

typedef enum pv_source {
	PV_SRC_DEFAULT,
	PV_SRC_FILE,    /* powerview.yaml */
	PV_SRC_DOTENV,  /* .env */
	PV_SRC_ENV,     /* the process environment */
	PV_SRC_FLAG     /* the command line */
} pv_source;

/*
 * Builds the effective settings. Every setting is an environment variable
 * (TSV_*, INFLUXDB_*), so every later reader sees one place: variables
 * already set win; then `env_file` (or ./.env when it exists) fills the
 * unset ones; then the YAML file (`config_path`, else $POWERVIEW_CONFIG,
 * else /etc/powerview/powerview.yaml when it exists) fills what is still
 * unset and adds formats. PV_ENOENT for a named file that is missing;
 * PV_ECONFIG with "file:line:column: reason" for a bad one.
 */
int pv_settings_load(pv_settings **out, const char *env_file, const char *config_path, pv_err *err);
void pv_settings_free(pv_settings *s);

/* Loads one YAML file into s (the part of pv_settings_load a fuzzer drives). */
pv_settings *pv_settings_new(void);
int pv_settings_load_yaml(pv_settings *s, const char *path, pv_err *err);

/* The format registry: built-ins plus those the YAML declares. */
const pv_formats *pv_settings_formats(const pv_settings *s);

/*
 * The command line sets setting `name` (key or variable: --output sets
 * sink.output). PV_ECONFIG for a name the table does not have.
 */
int pv_settings_flag(pv_settings *s, const char *name, const char *value);

/* Checks every effective value; PV_ECONFIG naming the setting and its source. */
int pv_settings_check(const pv_settings *s, pv_err *err);

/*
 * The same for the hook's and the playbooks' settings (hook.*, grafana.*),
 * which pv_settings_check leaves: tsv_parser does not use them, so `config`
 * warns about them and a run ignores them.
 */
int pv_settings_check_foreign(const pv_settings *s, pv_err *err);

/*
 * `config --get`: the setting a name stands for (its variable, e.g.
 * POWERVIEW_DATA_DIR, or its key, e.g. hook.data_dir), as an index for
 * pv_settings_get; PV_GET_UNKNOWN, or PV_GET_SECRET for a secret's value
 * (never printed; its *_file key is a setting: the file's path, also
 * named by the variable + "_FILE", e.g. GRAFANA_PASSWORD_FILE).
 */
enum { PV_GET_UNKNOWN = -1, PV_GET_SECRET = -2 };
int pv_settings_lookup(const char *name);

/*
 * The value in effect of setting i (environment > .env > YAML > default; ""
 * when unset without a default, or when the default depends on another
 * setting); a *_file key: the file's path when the secret comes from it, else "".
 */
const char *pv_settings_get(const pv_settings *s, int i);

/*
 * Typed values by key ("sink.batch_lines") or variable (TSV_BATCH_LINES),
 * for the modules: the value in effect (environment > .env > YAML), else
 * the table's default. Checked values are assumed (pv_settings_check):
 * these only convert. pv_settings_str: NULL when unset without a default
 * (an empty list of levels is a value: none); a secret's value too, for
 * the sink. s may be NULL (no YAML read: the environment and defaults).
 */
const char *pv_settings_str(const pv_settings *s, const char *key);
double pv_settings_num(const pv_settings *s, const char *key);
/* The table's default of a setting, whatever is set; NULL when none. */
const char *pv_settings_default(const char *key);
bool pv_settings_bool(const pv_settings *s, const char *key);

/*
 * `config --table`: the table itself, one setting a line, tab-separated
 * (key, variable, kind, default, range or choices, meaning) under a
 * header line; what the documentation's settings tables are checked against.
 */
int pv_settings_print_table(FILE *fp);

/* "key = value  (source)" for each setting, secrets masked, then the formats. */
void pv_settings_print(const pv_settings *s, FILE *fp);

#endif
