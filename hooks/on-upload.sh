#!/usr/bin/env bash
# on-upload.sh: the SFTPGo hook of PowerView.
#
# SFTPGo runs it with the action in the environment:
#
#   SFTPGO_ACTION=upload SFTPGO_ACTION_PATH=<file>  hand that file to tsv_parser as
#       POWERVIEW_INGEST says (below), when SFTPGO_ACTION_STATUS is 1 or absent;
#       2 (error, partial file) and 3 (quota exceeded) are logged and skipped
#   SFTPGO_ACTION=upload, no path                    scan the whole data folder,
#       `tsv_parser -d DATA`, in every mode (it spools what it finds, then ingests
#       the spool); for a post_disconnect hook whose command sets
#       SFTPGO_ACTION=upload, and for the systemd timer
#   SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH=<dir>     <data>/<company>/<campaign>: run the
#       create playbook with {"company_name": ..., "campaign_name": ...,
#       "downsample_levels": [...]} as JSON extra-vars, its settings (secrets
#       included) in its environment, never in any process's arguments; any
#       other depth is logged and skipped. downsample_levels: the levels
#       tsv_parser downsamples to, which the dashboards may read: those of
#       TSV_DOWNSAMPLE_LEVELS [downsample.levels] (1h, 1d, 1w, separated by
#       commas, spaces or tabs; default all three), none when TSV_DOWNSAMPLE
#       [downsample.enabled] is 0; another value is an ERROR, 78
#   any other action                                 logged, nothing done
#
# POWERVIEW_INGEST, how an uploaded file is ingested:
#   spool (default)  `tsv_parser spool -d DATA FILE` copies it into the spool
#       folder (durable when it returns, milliseconds), then the worker
#       `tsv_parser --spool -d DATA` is started detached (a session of its own,
#       stdin /dev/null, its output appended to the log, no descriptor of the
#       hook's) and the hook exits 0 at once, whatever the database does; what
#       the tenant does to its file afterwards changes nothing that is ingested
#   sync   `tsv_parser -d DATA -t FILE`, the hook waits for the ingestion (as
#       before the spool)
#   none   `tsv_parser spool` only: no worker is started; the systemd path unit
#       (deploy/powerview-spool.path) or the next scan ingests the spool
#   anything else is an ERROR, 78
#
# Where its pieces are. In a checkout (hooks/on-upload.sh, ../ansible beside
# it): <project>/ansible/create_grafana_resources.yml, tsv_parser from PATH
# (else <project>/build/tsv_parser), settings file <project>/.env. Installed
# as <prefix>/lib/powerview/on-upload.sh:
# <prefix>/share/powerview/ansible/create_grafana_resources.yml,
# <prefix>/bin/tsv_parser (before PATH), settings file /etc/powerview/.env.
#
# Settings, first found wins: the environment (even when empty: empty means
# the default); the settings file named by POWERVIEW_ENV_FILE (default above,
# read only if it exists); powerview.yaml (POWERVIEW_CONFIG, else
# /etc/powerview/powerview.yaml when it exists; keys in brackets); the
# default. The hook reads none of them itself: one `tsv_parser config --get -z
# --env-file FILE` answers them all (the parser named by POWERVIEW_TSV_PARSER
# in the environment, else the default one, reads them):
#   POWERVIEW_DATA_DIR   [hook.data_dir]    /srv/sftpgo/data
#   POWERVIEW_LOG_FILE   [hook.log_file]    /srv/sftpgo/logs/uploads.log
#   POWERVIEW_INGEST     [hook.ingest]      spool
#   POWERVIEW_PLAYBOOK   [hook.playbook]    the create playbook (above)
#   POWERVIEW_TSV_PARSER [hook.tsv_parser]  tsv_parser (above)
#   TSV_DOWNSAMPLE [downsample.enabled], TSV_DOWNSAMPLE_LEVELS [downsample.levels]
#                                       tsv_parser's (1, 1h,1d,1w): for the dashboards
# ansible-playbook is taken from PATH. tsv_parser gets --env-file with the same
# file, so it reads the same settings (INFLUXDB_*, TSV_*, and the same YAML).
# The playbook is started by `tsv_parser config --exec`, which puts the same
# settings (GRAFANA_*, INFLUXDB_*, POWERVIEW_*, secrets included) in its
# environment; a Grafana secret given in the YAML as grafana.password_file /
# grafana.api_token_file reaches it as GRAFANA_PASSWORD_FILE /
# GRAFANA_API_TOKEN_FILE, the file's path (the playbook reads the file): the
# hook never reads a secret.
#
# `on-upload.sh --configured` (systemd's ExecCondition= of the ingestion
# units): reads the same settings, logs nothing, ingests nothing; exit 0 when
# they name an existing data folder and a destination (INFLUXDB_HOST,
# INFLUXDB_URL or TSV_OUTPUT: influxdb.url or sink.output in the YAML), else
# 1; one line on stdout either way.
#
# Every event is one line appended to POWERVIEW_LOG_FILE:
#   [2026-11-27T09:03:56Z] on-upload[1234]: message
# followed by what tsv_parser and ansible-playbook print, appended as they print it;
# after a tsv_parser run, one line with its exit status and its summary line:
#   ... upload '<file>': tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 179 points in 0.0 s
# or, in spool mode, the spooler's status and the worker's pid (the worker's
# own lines follow in the log as it runs):
#   ... upload '<file>': tsv_parser spool exit 0: spooled as /srv/sftpgo/spool/acme/camp1/02001171/f.tsv
#   ... upload '<file>': worker started (pid 1235): tsv_parser --spool
#
# Exit status. With `upload` in SFTPGo's execute_sync list, a non-zero status
# makes SFTPGo delete the uploaded file and report a failed upload to the client;
# otherwise it is only logged by SFTPGo. So:
#   0   done, or nothing to do (a skipped status, action, depth or file, or a
#       path through a symbolic link below the data folder);
#       spool and none: the file is in the spool (the worker's outcome is in the
#       log, never in the hook's status), and also after `tsv_parser spool`
#       exits 65 (not a file the parser takes), 66 (gone), or, with an ERROR
#       line, 73 or 74 (the spool cannot be written) or 75 (the file changed
#       while it was copied): the file stays in the data folder, the next scan
#       or upload takes it;
#       sync and scan: also after tsv_parser exits 65 (the file went to error/:
#       it was received, it is bad, a new upload of the same bytes would fail
#       again) or 75 (database unavailable: the file stays in the data folder
#       and the next scan, e.g. the systemd timer, takes it; deleting it would
#       lose it); a file that vanished before tsv_parser saw it (another run
#       took it) is 0 as well
#   64  SFTPGO_ACTION unset or empty, or mkdir without a path: the hook is not
#       called the way it should be
#   77  a path outside the data folder: refused, nothing touched
#   78  the hook's own settings are wrong (no data folder, parser, playbook or
#       ansible-playbook; a settings file or a powerview.yaml that tsv_parser
#       refuses: past its limits, malformed, missing when named)
#   78  also POWERVIEW_INGEST not spool, sync or none, and on mkdir a TSV_DOWNSAMPLE
#       other than 1 or 0 or a TSV_DOWNSAMPLE_LEVELS with another level than 1h, 1d, 1w
#   tsv_parser's own status for 64, 66, 73, 78 and anything else (spool and
#       none: `tsv_parser spool`'s for 64, 78 and anything else): the run did not
#       happen as it should, the file was not ingested, and the admin must look;
#       with execute_sync the client is told the upload failed and sends it again
#   ansible-playbook's status when the playbook fails
#   a name with Jinja markers ('{{', '{%', '{#') is refused with an ERROR line and 0;
#       a company or campaign named parsed or error, or hidden (a leading '.'),
#       is logged and skipped with 0: the scan never reads such a folder
#
# SFTPGo gives a hook only the environment it is configured with (an event
# rule's action env, or the legacy hook's SFTPGO_ACTION_* and command env) and
# kills it after its timeout (an event action's, 1 to 120 s; the legacy
# command.timeout, 30 s unless set): give PATH (and POWERVIEW_CONFIG or
# POWERVIEW_ENV_FILE when the defaults do not fit) there;
# docs/deployment-hook.md shows both set-ups.

set -Eeuo pipefail

readonly EX_USAGE=64 EX_NOPERM=77 EX_CONFIG=78

# Without PATH in its environment bash uses a default that ends with '.', so a
# tsv_parser or ansible-playbook in the current folder would be run: keep only
# absolute entries.
sanitize_path() {
	local -a parts
	local dir out=
	IFS=: read -r -a parts <<<"${PATH:-}"
	for dir in "${parts[@]}"; do
		case $dir in
		/*) out=${out:+$out:}$dir ;;
		esac
	done
	PATH=${out:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}
	export PATH
}

# ---------------------------------------------------------------- settings, from tsv_parser

# The settings the hook reads, all from one `tsv_parser config --get -z` (the
# environment, the settings file and powerview.yaml merged there, first found
# wins; an empty value is the default's). A Grafana secret given in the YAML
# comes as the path of its file (*_FILE): a secret itself is never printed.
readonly NAMES=(POWERVIEW_TSV_PARSER POWERVIEW_DATA_DIR POWERVIEW_LOG_FILE POWERVIEW_INGEST
	POWERVIEW_PLAYBOOK INFLUXDB_HOST TSV_OUTPUT TSV_DOWNSAMPLE TSV_DOWNSAMPLE_LEVELS
	GRAFANA_PASSWORD_FILE GRAFANA_API_TOKEN_FILE)
declare -A SETTINGS=()

# setting NAME DEFAULT: REPLY = NAME's value in effect, else DEFAULT.
setting() {
	REPLY=${SETTINGS[$1]:-$2}
}

# ---------------------------------------------------------------- log

LOG_FILE=/dev/stderr

# log MESSAGE...: one line, UTC time stamp, appended.
log() {
	local line
	TZ=UTC0 printf -v line '[%(%Y-%m-%dT%H:%M:%SZ)T] on-upload[%d]: %s' -1 "$$" "$*"
	printf '%s\n' "$line" >>"$LOG_FILE" 2>/dev/null || printf '%s\n' "$line" >&2
}

# q STRING: STRING for a log line, quoted; control characters (a newline in a
# file name) escaped so that an event stays on one line.
q() {
	local s=$1
	if [[ $s == *[[:cntrl:]]* ]]; then
		printf '%q' "$s"
	else
		printf "'%s'" "$s"
	fi
}

trap 'status=$?; log "ERROR: internal failure at line $LINENO (status $status)"; exit "$status"' ERR

# ---------------------------------------------------------------- settings

# lexical PATH: REPLY = PATH made absolute (from $PWD), with '.', '..' and
# repeated '/' resolved as text, no link followed: `realpath -s -m` without
# starting a process (each one costs the upload's latency).
lexical() {
	local p=$1 comp out=
	[[ $p == /* ]] || p=$PWD/$p
	while [ -n "$p" ]; do
		comp=${p%%/*}
		if [ "$comp" = "$p" ]; then
			p=
		else
			p=${p#*/}
		fi
		case $comp in
		'' | .) ;;
		..) out=${out%/*} ;;
		*) out+=/$comp ;;
		esac
	done
	REPLY=${out:-/}
}

# configured: the answer of --configured, from the settings read; exits.
configured() {
	local data dest="" name
	if [ -n "$SETTINGS_ERROR" ]; then
		echo "not configured: $SETTINGS_ERROR"
		exit 1
	fi
	setting POWERVIEW_DATA_DIR /srv/sftpgo/data
	data=$REPLY
	if [ ! -d "$data" ]; then
		echo "not configured: data folder $(q "$data") not found (POWERVIEW_DATA_DIR, hook.data_dir)"
		exit 1
	fi
	# the name, not the value: a URL may hold credentials (INFLUXDB_HOST
	# stands for INFLUXDB_URL too)
	for name in INFLUXDB_HOST TSV_OUTPUT; do
		setting "$name" ""
		if [ -n "$REPLY" ]; then
			dest=$name
			break
		fi
	done
	if [ -z "$dest" ]; then
		echo "not configured: no destination (influxdb.url or INFLUXDB_HOST/INFLUXDB_URL, or sink.output or TSV_OUTPUT)"
		exit 1
	fi
	echo "configured: data folder $(q "$data"), destination $dest"
	exit 0
}

# config_get NAME...: VALUES = the values in effect of the NAMEs, from one
# `tsv_parser config --get -z` run from / (with --env-file: never a ./.env of
# the working folder); status 1 with VALUES = [tsv_parser's message] and
# GET_STATUS = its exit status when it fails.
config_get() {
	local -a config=()
	GET_STATUS=0
	[ -z "$CONFIG_FILE" ] || config=(--config "$CONFIG_FILE")
	# its standard error only when it fails, and then no value is printed
	mapfile -d '' VALUES < <(cd / && exec "$READER" config --get -z "${config[@]}" \
		--env-file "$GET_ENV_FILE" "$@" </dev/null 2>&1)
	wait "$!" || GET_STATUS=$?
	if [ "$GET_STATUS" != 0 ] || [ "${#VALUES[@]}" != "$#" ]; then
		VALUES=("${VALUES[*]:-}")
		VALUES[0]=${VALUES[0]%$'\n'}
		VALUES[0]=${VALUES[0]#*tsv_parser: }
		VALUES[0]=${VALUES[0]//$'\n'/ }
		return 1
	fi
}

# read_settings: SETTINGS = the values of NAMES; SETTINGS_ERROR set (and, when
# the YAML is at fault, POWERVIEW_LOG_FILE from the rest) when they cannot be
# read. TSV_PARSER = POWERVIEW_TSV_PARSER when the settings name one.
read_settings() {
	local name msg n=0
	SETTINGS_ERROR=
	if [ ! -x "$READER" ] || [ -d "$READER" ]; then
		SETTINGS_ERROR="tsv_parser not found or not executable: $(q "$READER") (POWERVIEW_TSV_PARSER): settings not read"
		return 0
	fi
	if config_get "${NAMES[@]}"; then
		for name in "${NAMES[@]}"; do
			SETTINGS[$name]=${VALUES[n]}
			n=$((n + 1))
		done
		TSV_PARSER=${SETTINGS[POWERVIEW_TSV_PARSER]:-$TSV_PARSER}
		return 0
	fi
	msg=${VALUES[0]}
	case $msg in
	"$GET_ENV_FILE "*) SETTINGS_ERROR="settings file $(q "$ENV_FILE") ${msg#"$GET_ENV_FILE "}" ;;
	"$GET_ENV_FILE:"[0-9]*) SETTINGS_ERROR="settings file $(q "$ENV_FILE") line ${msg#"$GET_ENV_FILE:"}" ;;
	*)
		SETTINGS_ERROR="configuration file${CONFIG_FILE:+ $(q "$CONFIG_FILE")} cannot be read (tsv_parser config exit $GET_STATUS): $msg"
		# where to say so: the log the rest of the settings names
		CONFIG_FILE=/dev/null
		! config_get POWERVIEW_LOG_FILE || SETTINGS[POWERVIEW_LOG_FILE]=${VALUES[0]}
		;;
	esac
}

sanitize_path
CONFIGURED=0
case $# in
0) ;;
1)
	if [ "$1" = --configured ]; then
		CONFIGURED=1
	else
		echo "on-upload.sh: unknown argument $(q "$1") (the only one is --configured)" >&2
		exit "$EX_USAGE"
	fi
	;;
*)
	echo "on-upload.sh: too many arguments (the only one is --configured)" >&2
	exit "$EX_USAGE"
	;;
esac

# Where the pieces are (parameter expansions rather than dirname: every
# process started costs the upload's latency).
HOOK_DIR=$(realpath -e -- "${BASH_SOURCE[0]}")
HOOK_DIR=${HOOK_DIR%/*}
PROJECT_DIR=${HOOK_DIR%/*}
PROJECT_DIR=${PROJECT_DIR:-/}
DEFAULT_PLAYBOOK=$PROJECT_DIR/ansible/create_grafana_resources.yml
DEFAULT_ENV_FILE=$PROJECT_DIR/.env
DEFAULT_PARSER=
if [ ! -d "$PROJECT_DIR/ansible" ] && [[ $HOOK_DIR == */lib/powerview ]]; then
	# installed: <prefix>/lib/powerview/on-upload.sh
	PREFIX=${HOOK_DIR%/lib/powerview}
	DEFAULT_PLAYBOOK=$PREFIX/share/powerview/ansible/create_grafana_resources.yml
	DEFAULT_ENV_FILE=/etc/powerview/.env
	if [ -x "$PREFIX/bin/tsv_parser" ]; then
		DEFAULT_PARSER=$PREFIX/bin/tsv_parser
	fi
fi

early_warnings=()
ENV_FILE=${POWERVIEW_ENV_FILE:-$DEFAULT_ENV_FILE}
ENV_FILE=$(realpath -m -- "$ENV_FILE")
GET_ENV_FILE=/dev/null
if [ -f "$ENV_FILE" ]; then
	if [ -r "$ENV_FILE" ]; then
		GET_ENV_FILE=$ENV_FILE
	else
		early_warnings+=("ERROR: settings file $(q "$ENV_FILE") cannot be read: using the environment and the defaults")
	fi
elif [ -n "${POWERVIEW_ENV_FILE:-}" ]; then
	early_warnings+=("WARNING: settings file $(q "$ENV_FILE") not found: using the environment and the defaults")
fi

# The parser: the one the settings name (POWERVIEW_TSV_PARSER), else the
# default. The settings are read by the environment's, else by the default
# (a parser named but missing is an ERROR when it is to run, logged where
# the settings say).
TSV_PARSER=$DEFAULT_PARSER
if [ -z "$TSV_PARSER" ]; then
	TSV_PARSER=$(command -v tsv_parser || true)
	TSV_PARSER=${TSV_PARSER:-$PROJECT_DIR/build/tsv_parser}
fi
READER=$TSV_PARSER
if [ -n "${POWERVIEW_TSV_PARSER:-}" ]; then
	TSV_PARSER=$POWERVIEW_TSV_PARSER
	[ ! -x "$TSV_PARSER" ] || [ -d "$TSV_PARSER" ] || READER=$TSV_PARSER
fi
# the YAML in play, absolute (tsv_parser runs from /); tsv_parser also finds
# one named in the settings file, or /etc/powerview/powerview.yaml
CONFIG_FILE=${POWERVIEW_CONFIG:-}
if [ -n "$CONFIG_FILE" ]; then
	lexical "$CONFIG_FILE"
	CONFIG_FILE=$REPLY
elif [ -e /etc/powerview/powerview.yaml ]; then
	CONFIG_FILE=/etc/powerview/powerview.yaml
fi
read_settings

if [ "$CONFIGURED" = 1 ]; then
	configured
fi

setting POWERVIEW_LOG_FILE "${POWERVIEW_LOG_FILE:-/srv/sftpgo/logs/uploads.log}"
candidate=$(realpath -m -- "$REPLY")
log_dir=${candidate%/*}
if { [ -d "${log_dir:-/}" ] || mkdir -p -- "$log_dir" 2>/dev/null; } && : 2>/dev/null >>"$candidate"; then
	LOG_FILE=$candidate
else
	log "ERROR: cannot write to the log file $(q "$candidate"): logging to standard error"
fi
for w in "${early_warnings[@]}"; do
	log "$w"
done
if [ -n "$SETTINGS_ERROR" ]; then
	log "ERROR: $SETTINGS_ERROR: nothing done"
	exit "$EX_CONFIG"
fi

setting POWERVIEW_DATA_DIR /srv/sftpgo/data
DATA_DIR=$REPLY
setting POWERVIEW_PLAYBOOK "$DEFAULT_PLAYBOOK"
PLAYBOOK=$REPLY

# ---------------------------------------------------------------- helpers

# data_dir_real: DATA_REAL = the data folder, symbolic links resolved, and
# DATA_LOGICAL = the same as written (absolute, links kept); exit 78 without it.
data_dir_real() {
	if ! DATA_REAL=$(realpath -e -- "$DATA_DIR" 2>/dev/null) || [ ! -d "$DATA_REAL" ]; then
		log "ERROR: data folder $(q "$DATA_DIR") not found (POWERVIEW_DATA_DIR)"
		exit "$EX_CONFIG"
	fi
	lexical "$DATA_DIR"
	DATA_LOGICAL=$REPLY
}

# inside PATH: PATH (resolved) lies strictly below the data folder. The trailing
# slash keeps /srv/sftpgo/data2 out of /srv/sftpgo/data.
inside() {
	case $1 in
	"${DATA_REAL%/}"/?*) return 0 ;;
	esac
	return 1
}

# stay_inside EVENT PATH REAL [NOT_DONE]: ends the hook when REAL (PATH resolved)
# is outside the data folder (EX_NOPERM) or, given NOT_DONE (what is then not
# done), when PATH reaches it through a link (through_link: exit 0).
stay_inside() {
	local event=$1 path=$2 real=$3 not_done=${4:-}
	if ! inside "$real"; then
		log "ERROR: $event $(q "$path")$USER_INFO is outside the data folder $(q "$DATA_REAL"): refused"
		exit "$EX_NOPERM"
	fi
	if [ -n "$not_done" ] && through_link "$path" "$real"; then
		log "$event $(q "$path")$USER_INFO $VIA: $not_done (a link below the data folder may lead into another company's folder)"
		exit 0
	fi
}

# through_link PATH REAL: PATH, as written, reaches REAL (its resolved form,
# inside the data folder) through a symbolic link below the data folder, or
# through '..' after one, or is not written below the data folder at all;
# VIA = how, for the log. Status 1 when PATH is plain. A tenant can make
# links in its own folders (SFTP symlink) that lead into another company's:
# only the data folder itself and the folders above it, the operator's, may
# be links.
through_link() {
	local path=$1 real=$2 logical rest comp dir
	lexical "$path"
	logical=$REPLY
	case $logical in
	"${DATA_LOGICAL%/}"/?*) rest=${logical#"${DATA_LOGICAL%/}"/} ;;
	"${DATA_REAL%/}"/?*) rest=${logical#"${DATA_REAL%/}"/} ;;
	*)
		VIA="is not written below the data folder $(q "$DATA_LOGICAL") (a symbolic link leads there)"
		return 0
		;;
	esac
	dir=${DATA_REAL%/}
	while [ -n "$rest" ]; do
		comp=${rest%%/*}
		if [ "$comp" = "$rest" ]; then
			rest=
		else
			rest=${rest#*/}
		fi
		dir=$dir/$comp
		if [ -L "$dir" ]; then
			VIA="goes through the symbolic link $(q "$dir")"
			return 0
		fi
	done
	# no component as written is a link, yet '..' after one led elsewhere
	if [ "$dir" != "$real" ]; then
		VIA="goes through a symbolic link (then '..') to $(q "$real")"
		return 0
	fi
	return 1
}

# parser_words STATUS [SUMMARY]: what tsv_parser's run came to, in words: what
# its exit status means, then its own summary line, which says how many files
# were ingested, sent to error/, kept, skipped or left for a later run, or that
# there were none. Without a summary (the run stopped before looking for
# files, or TSV_LOG_LEVEL is above INFO), the status alone.
parser_words() {
	local words
	case $1 in
	0) words= ;;
	65) words="some files went to error/" ;;
	75) words="database unavailable: files kept for the next run" ;;
	78) words="configuration error" ;;
	66) words="file not found" ;;
	64) words="usage error" ;;
	*) words="failed with status $1" ;;
	esac
	if [ -n "${2:-}" ]; then
		echo "${words:+$words; }$2"
	else
		echo "${words:-done}"
	fi
}

# parser_argv [COMMAND]: PARSER_ARGV = tsv_parser [COMMAND] -d DATA
# [--env-file FILE], PARSER_NAME = "tsv_parser [COMMAND]" for the log; exit
# 78 when the parser cannot be run.
parser_argv() {
	if [ ! -x "$TSV_PARSER" ] || [ -d "$TSV_PARSER" ]; then
		log "ERROR: tsv_parser not found or not executable: $(q "$TSV_PARSER") (POWERVIEW_TSV_PARSER)"
		exit "$EX_CONFIG"
	fi
	PARSER_ARGV=("$TSV_PARSER" "$@" -d "$DATA_REAL")
	PARSER_NAME="tsv_parser${1:+ $1}"
	if [ -f "$ENV_FILE" ]; then
		PARSER_ARGV+=(--env-file "$ENV_FILE")
	fi
}

# parser_run WHAT RE ARGS...: run PARSER_ARGV ARGS... from /, its output
# appended to the log as it comes; PARSER_STATUS = its exit status,
# PARSER_SUMMARY = group 1 of the last line matching RE.
parser_run() {
	local what=$1 re=$2 line logfd
	shift 2
	PARSER_STATUS=0 PARSER_SUMMARY=
	log "$what: running $PARSER_NAME"
	# From /: without --env-file, tsv_parser reads ./.env, which must not be
	# whatever file sits in SFTPGo's working folder.
	exec {logfd}>>"$LOG_FILE" 2>/dev/null || exec {logfd}>&2
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line" >&"$logfd"
		if [[ $line =~ $re ]]; then
			PARSER_SUMMARY=${BASH_REMATCH[1]}
		fi
	done < <(cd / && exec "${PARSER_ARGV[@]}" "$@" </dev/null 2>&1)
	wait "$!" || PARSER_STATUS=$?
	exec {logfd}>&-
}

# run_parser WHAT ARGS...: run tsv_parser -d DATA ARGS... (a scan, or the
# synchronous ingestion of one file), and exit with the hook's status for it.
# The last summary line ("N files: ...") goes into the hook's own line.
run_parser() {
	local what=$1 status
	shift
	parser_argv
	parser_run "$what" '^[0-9T:Z-]+ \[INFO\] tsv_parser: ((dry run: )?[0-9]+ files?: .*)$' "$@"
	status=$PARSER_STATUS
	log "$what: tsv_parser exit $status: $(parser_words "$status" "$PARSER_SUMMARY")"
	case $status in
	0 | 65 | 75) exit 0 ;;
	esac
	if [ "$status" = 66 ] && [ -n "${FILE_REAL:-}" ] && [ ! -e "$FILE_REAL" ]; then
		log "$what: the file is gone: another run took it"
		exit 0
	fi
	exit "$status"
}

# start_worker WHAT: start `tsv_parser --spool` detached: a session of its
# own, from /, stdin /dev/null, stdout and stderr appended to the log, no other
# file descriptor of the hook's (SFTPGo waits until the hook's pipes close).
# Its pid is the background job's: setsid, not a group leader, does not fork.
start_worker() {
	local what=$1 out=$LOG_FILE pid
	local -a detach=()
	parser_argv --spool
	# a log that fell back to standard error would be SFTPGo's pipe
	[ "$out" != /dev/stderr ] || out=/dev/null
	if command -v setsid >/dev/null; then
		detach=(setsid)
	else
		log "$what: WARNING: setsid not found in PATH: the worker stays in the hook's session"
	fi
	(
		trap - ERR
		set +eE
		cd / || exit 1
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null && { exec {fd}>&-; } 2>/dev/null
		done
		exec "${detach[@]}" "${PARSER_ARGV[@]}" </dev/null >>"$out" 2>&1
	) &
	pid=$!
	log "$what: worker started (pid $pid): tsv_parser --spool"
}

# spool_words STATUS: REPLY = what `tsv_parser spool`'s exit status means for
# the file.
spool_words() {
	case $1 in
	0) REPLY="spooled" ;;
	65) REPLY="not a file the parser takes: not spooled" ;;
	66) REPLY="file not found (another run took it?): not spooled" ;;
	73 | 74) REPLY="the spool cannot be written: the file stays in the data folder for the next scan" ;;
	75) REPLY="the file changed while it was copied: not spooled, its next upload or the next scan takes it" ;;
	78) REPLY="configuration error" ;;
	64) REPLY="usage error" ;;
	*) REPLY="failed with status $1" ;;
	esac
}

# spool_upload WHAT FILE: hand FILE to the spool (`tsv_parser spool`); in
# spool mode start the worker; exit with the hook's status.
spool_upload() {
	local what=$1 file=$2 status words
	parser_argv spool
	parser_run "$what" '^[0-9T:Z-]+ \[INFO\] tsv_parser: .*: ((spooled as|already spooled) .*)$' "$file"
	status=$PARSER_STATUS
	spool_words "$status"
	words=$REPLY
	if [ "$status" = 0 ] && [ -n "$PARSER_SUMMARY" ]; then
		words=$PARSER_SUMMARY
	fi
	case $status in
	73 | 74 | 75) log "ERROR: $what: tsv_parser spool exit $status: $words" ;;
	*) log "$what: tsv_parser spool exit $status: $words" ;;
	esac
	case $status in
	0) ;;
	65 | 66 | 73 | 74 | 75) exit 0 ;;
	*) exit "$status" ;;
	esac
	if [ "$INGEST" = none ]; then
		log "$what: no worker started (POWERVIEW_INGEST=none): the systemd path unit or the next scan ingests it"
	else
		start_worker "$what"
	fi
	exit 0
}

# ---------------------------------------------------------------- actions

on_upload() {
	local path=${SFTPGO_ACTION_PATH:-} status=${SFTPGO_ACTION_STATUS:-1} real name rel
	case $status in
	1) ;;
	2)
		log "upload of $(q "$path")$USER_INFO failed (status 2: error, partial file): not ingested"
		exit 0
		;;
	3)
		log "upload of $(q "$path")$USER_INFO failed (status 3: quota exceeded): not ingested"
		exit 0
		;;
	*)
		log "upload of $(q "$path")$USER_INFO has status $(q "$status"), not 1: not ingested"
		exit 0
		;;
	esac
	setting POWERVIEW_INGEST spool
	INGEST=$REPLY
	case $INGEST in
	spool | sync | none) ;;
	*)
		log "ERROR: POWERVIEW_INGEST is $(q "$INGEST"): must be spool, sync or none; nothing done"
		exit "$EX_CONFIG"
		;;
	esac
	data_dir_real
	if [ -z "$path" ]; then
		# The scan leaves files modified in the last TSV_MIN_AGE seconds (10 by
		# default) for a later run: other clients may still be writing them.
		run_parser "scan of $(q "$DATA_REAL")$USER_INFO"
	fi
	# -m first: a path outside is refused even when it does not exist (a dangling link)
	real=$(realpath -m -- "$path")
	stay_inside upload "$path" "$real"
	if [ -L "$path" ]; then
		log "upload $(q "$path")$USER_INFO is a symbolic link: not taken (as in a scan)"
		exit 0
	fi
	# what -m resolved exists: the same as realpath -e would give
	if [ ! -e "$real" ]; then
		log "upload $(q "$path")$USER_INFO is no longer there (another run took it?): nothing to do"
		exit 0
	fi
	stay_inside upload "$path" "$real" "not taken"
	if [ ! -f "$real" ]; then
		log "upload $(q "$path")$USER_INFO is not a regular file: nothing to do"
		exit 0
	fi
	# what a scan would take: *.tsv, never inside parsed/ or error/
	name=${real##*/}
	rel=${real#"${DATA_REAL%/}"/}
	case $name in
	?*.tsv) ;;
	*)
		log "upload $(q "$real")$USER_INFO is not a .tsv file: not ingested"
		exit 0
		;;
	esac
	case /$rel in
	*/parsed/* | */error/*)
		log "upload $(q "$real")$USER_INFO is inside a parsed/ or error/ folder: not ingested"
		exit 0
		;;
	esac
	FILE_REAL=$real
	if [ "$INGEST" = sync ]; then
		run_parser "upload $(q "$real")$USER_INFO" -t "$real"
	fi
	spool_upload "upload $(q "$real")$USER_INFO" "$real"
}

# downsample_levels: LEVELS = the downsampled levels the dashboards may read,
# from tsv_parser's settings, comma-separated in the order 1h,1d,1w (empty: none,
# TSV_DOWNSAMPLE=0); status 1 with LEVELS_ERROR set when a value is one
# tsv_parser would refuse (the value never goes further than the log, quoted).
downsample_levels() {
	local word list seen=,
	local -a words=()
	LEVELS=
	setting TSV_DOWNSAMPLE 1
	case $REPLY in
	0) return 0 ;;
	1) ;;
	*)
		LEVELS_ERROR="TSV_DOWNSAMPLE (downsample.enabled) is $(q "$REPLY"), not 1 or 0"
		return 1
		;;
	esac
	setting TSV_DOWNSAMPLE_LEVELS 1h,1d,1w
	list=$REPLY
	# only level characters and separators: nothing else is split, globbed or passed
	if [[ $list == *[!1hdw,$' \t']* ]]; then
		words=(x)
	else
		IFS=$', \t' read -r -a words <<<"$list"
	fi
	for word in "${words[@]}"; do
		case $word in
		'') ;;
		1h | 1d | 1w) seen+=$word, ;;
		*)
			LEVELS_ERROR="TSV_DOWNSAMPLE_LEVELS (downsample.levels) is $(q "$list"): the levels are 1h, 1d and 1w"
			return 1
			;;
		esac
	done
	for word in 1h 1d 1w; do
		[[ $seen != *",$word,"* ]] || LEVELS+=${LEVELS:+,}$word
	done
}

# json_vars TOOL COMPANY CAMPAIGN LEVELS: the extra-vars object built by TOOL
# (python3 or jq), the names and LEVELS (downsample_levels) passed as arguments,
# never pasted into code; status 1 when the names are not valid UTF-8.
json_vars() {
	case ${1##*/} in
	jq)
		# jq would turn invalid UTF-8 into U+FFFD: check it first
		printf '%s%s' "$2" "$3" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 || return 1
		"$1" -cn --arg c "$2" --arg p "$3" --arg l "$4" \
			"{company_name: \$c, campaign_name: \$p, downsample_levels: (\$l | split(\",\") | map(select(. != \"\")))}"
		;;
	*)
		"$1" -I -S -X utf8 -c '
import json, sys
company, campaign, levels = sys.argv[1:4]
company.encode("utf-8"), campaign.encode("utf-8")  # undecodable bytes raise
print(json.dumps({"company_name": company, "campaign_name": campaign,
                  "downsample_levels": [lv for lv in levels.split(",") if lv]}))
' "$2" "$3" "$4" 2>/dev/null
		;;
	esac
}

on_mkdir() {
	local path=${SFTPGO_ACTION_PATH:-} real rel company campaign what json ansible playbook n tool
	local -a config
	local status=0
	if [ -z "$path" ]; then
		log "ERROR: mkdir without SFTPGO_ACTION_PATH$USER_INFO: nothing done"
		exit "$EX_USAGE"
	fi
	data_dir_real
	real=$(realpath -m -- "$path")
	if [ "$real" = "$DATA_REAL" ]; then
		log "mkdir $(q "$path")$USER_INFO: the data folder itself: nothing to do"
		exit 0
	fi
	stay_inside mkdir "$path" "$real" "nothing done"
	rel=${real#"${DATA_REAL%/}"/}
	case $rel in
	*/*/*)
		log "mkdir $(q "$real")$USER_INFO: device level or deeper: nothing to do"
		exit 0
		;;
	*/*) ;;
	*)
		log "mkdir $(q "$real")$USER_INFO: company level: nothing to do until a campaign folder is made"
		exit 0
		;;
	esac
	company=${rel%%/*}
	campaign=${rel#*/}
	what="company $(q "$company"), campaign $(q "$campaign")"
	# The JSON values reach the playbook as plain strings, but a playbook may
	# template them again later: names with Jinja markers are refused.
	for n in "$company" "$campaign"; do
		case $n in
		*'{{'* | *'{%'* | *'{#'*)
			log "ERROR: mkdir $(q "$real")$USER_INFO: $what: a name with '{{', '{%' or '{#' is refused: no Grafana resources"
			exit 0
			;;
		esac
	done
	# The scan never enters parsed/, error/ or a hidden folder: such a company
	# or campaign would get dashboards that no point ever reaches.
	for n in "$company" "$campaign"; do
		case $n in
		parsed | error | .*)
			log "mkdir $(q "$real")$USER_INFO: $what: $(q "$n") is a name the scan passes over (parsed, error or a leading '.'): no Grafana resources"
			exit 0
			;;
		esac
	done
	if ! playbook=$(realpath -e -- "$PLAYBOOK" 2>/dev/null) || [ ! -f "$playbook" ]; then
		log "ERROR: playbook $(q "$PLAYBOOK") not found (POWERVIEW_PLAYBOOK): no Grafana resources for $what"
		exit "$EX_CONFIG"
	fi
	if ! ansible=$(command -v ansible-playbook); then
		log "ERROR: ansible-playbook not found in PATH: no Grafana resources for $what"
		exit "$EX_CONFIG"
	fi
	if ! tool=$(command -v python3) && ! tool=$(command -v jq); then
		log "ERROR: neither python3 nor jq found in PATH to build the extra-vars: no Grafana resources for $what"
		exit "$EX_CONFIG"
	fi
	if ! downsample_levels; then
		log "ERROR: mkdir $(q "$real")$USER_INFO: $LEVELS_ERROR: no Grafana resources for $what"
		exit "$EX_CONFIG"
	fi
	if ! json=$(json_vars "$tool" "$company" "$campaign" "$LEVELS"); then
		log "ERROR: mkdir $(q "$real")$USER_INFO: $what: names must be valid UTF-8: no Grafana resources"
		exit 0
	fi
	log "mkdir $(q "$real")$USER_INFO: creating the Grafana resources of $what (downsampled levels: ${LEVELS:-none})"
	# SFTPGo cleared the environment: the playbook gets its settings from the
	# same places as the hook, in its environment, never in its arguments (any
	# local user can read the arguments of any process in /proc/<pid>/cmdline,
	# but not its environment): `tsv_parser config --exec` reads them (secrets
	# included, which the hook never sees) and becomes the playbook. From the
	# YAML, a Grafana secret comes as *_FILE, its file's path, exported here.
	# From the playbook's folder, so that an ansible.cfg beside it applies.
	(
		cd "$(dirname -- "$playbook")"
		for key in GRAFANA_PASSWORD_FILE GRAFANA_API_TOKEN_FILE; do
			setting "$key" ""
			[ -z "$REPLY" ] || export "$key=$REPLY"
		done
		[ ! -f "$ENV_FILE" ] || export POWERVIEW_ENV_FILE="$ENV_FILE"
		# its `tsv_parser token` reads the same YAML, and is this tsv_parser
		[ -z "$CONFIG_FILE" ] || export POWERVIEW_CONFIG="$CONFIG_FILE"
		case $TSV_PARSER in
		/*/tsv_parser) [ ! -x "$TSV_PARSER" ] || export PATH="${TSV_PARSER%/*}:$PATH" ;;
		esac
		config=(--env-file "$GET_ENV_FILE")
		[ -z "$CONFIG_FILE" ] || config+=(--config "$CONFIG_FILE")
		exec "$TSV_PARSER" config "${config[@]}" --exec -- "$ansible" "$playbook" --extra-vars "$json"
	) </dev/null >>"$LOG_FILE" 2>&1 || status=$?
	if [ "$status" -eq 0 ]; then
		log "Grafana resources created for $what"
		exit 0
	fi
	log "ERROR: ansible-playbook failed with status $status for $what"
	exit "$status"
}

# ---------------------------------------------------------------- main

USER_INFO=
if [ -n "${SFTPGO_ACTION_USERNAME:-}" ]; then
	USER_INFO=" by user $(q "$SFTPGO_ACTION_USERNAME")"
fi
# An Event Manager rule passes what its placeholders become; one written for
# another SFTPGo version (2.7 and later replace {{.Event}}, 2.6 {{Event}})
# passes the placeholder itself, and every event would be skipped in silence.
for name in SFTPGO_ACTION SFTPGO_ACTION_STATUS; do
	case ${!name:-} in
	*'{{'*'}}'*)
		log "ERROR: $name is $(q "${!name}"): a placeholder SFTPGo did not replace (SFTPGo 2.7 and later write {{.Event}}, 2.6 {{Event}}): nothing done"
		exit "$EX_USAGE"
		;;
	esac
done
case ${SFTPGO_ACTION:-} in
'')
	log "ERROR: SFTPGO_ACTION is not set: this hook is run by SFTPGo for its upload and mkdir actions; nothing done"
	exit "$EX_USAGE"
	;;
upload) on_upload ;;
mkdir) on_mkdir ;;
*)
	log "action $(q "$SFTPGO_ACTION")$USER_INFO: nothing to do"
	exit 0
	;;
esac
