# ---- fixed part (internal/databricks/initscript.sh) -------------------------------------------

umask 022 # write_secret narrows it to 077 for the files holding credentials

ROOT=${LAKEGATE_DB_ROOT:-}
ROOT=${ROOT%/}
JARS_DIR=$ROOT/databricks/jars
CONF_DIR=$ROOT/databricks/driver/conf
CONF_FILE=$CONF_DIR/00-lakegate-spark.conf
STATE_DIR=$ROOT/databricks/lakegate
SECRETS_DIR=$STATE_DIR/secrets
DBR_VERSION_FILE=$ROOT/databricks/DBR_VERSION
DEPLOY_CONF=$ROOT/databricks/common/conf/deploy.conf
DBFS_DIR=$ROOT/dbfs
LOG_FILE=$ROOT/databricks/init_scripts/lakegate-init.log

if mkdir -p "${LOG_FILE%/*}" 2>/dev/null && : >"$LOG_FILE" 2>/dev/null; then
	chmod 0644 "$LOG_FILE" 2>/dev/null || true
else
	LOG_FILE=/dev/null
fi

# log MESSAGE: to stdout (Databricks keeps it with the init script logs) and to LOG_FILE.
# Never give it a secret.
log() {
	lg_line="$(date -u '+%Y-%m-%dT%H:%M:%SZ') lakegate-init: $*"
	printf '%s\n' "$lg_line"
	printf '%s\n' "$lg_line" >>"$LOG_FILE"
}

# die MESSAGE: the reason on stderr and in LOG_FILE, then a non-zero exit, which fails the cluster start.
die() {
	lg_line="$(date -u '+%Y-%m-%dT%H:%M:%SZ') lakegate-init: ERROR: $*"
	printf '%s\n' "$lg_line" >&2
	printf '%s\n' "$lg_line" >>"$LOG_FILE"
	printf '%s\n' "lakegate-init: the cluster cannot start with lakegate until this is fixed (log: $LOG_FILE)" >&2
	exit 1
}

is_true() {
	case $1 in true | TRUE | True | 1 | yes | YES) return 0 ;; *) return 1 ;; esac
}

log "lakegate init script (lakegate $LG_VERSION) starting; libs from $LG_LIBS_FROM"

case ${DB_IS_DRIVER:-TRUE} in
TRUE | true | True | 1) IS_DRIVER=1 ;;
*) IS_DRIVER=0 ;;
esac

# ---- 1. check the environment before anything is written ----------------------------------------

# USE_ENSEMBLE: file access control through the ensemble (S3 proxy) at ENSEMBLE, its base URL
# http(s)://host[:port] without a trailing slash. The extension configures s3a from the two
# settings written below; the URL is checked strictly, since it ends up in the driver conf.
USE_ENSEMBLE=false
ENSEMBLE=
if is_true "${OKERA_ENABLE_OKERA_FS:-false}"; then
	USE_ENSEMBLE=true
	ENSEMBLE=${LAKEGATE_ENSEMBLE:-}
	lg_form="the ensemble's (S3 proxy's) base URL, http://host[:port] or https://host[:port], e.g. LAKEGATE_ENSEMBLE=https://ensemble.example.com:5010"
	[ -n "$ENSEMBLE" ] || die "OKERA_ENABLE_OKERA_FS=true needs LAKEGATE_ENSEMBLE: set it in the cluster's environment variables (spark_env_vars) to $lg_form"
	case $ENSEMBLE in
	*[!]A-Za-z0-9.:/[-]*) die "LAKEGATE_ENSEMBLE holds a character a base URL does not (whitespace, a line break, a quote, '@', '?', '#', …): give $lg_form" ;;
	http://* | https://*) ;;
	*) die "LAKEGATE_ENSEMBLE=$ENSEMBLE: not $lg_form" ;;
	esac
	lg_scheme=${ENSEMBLE%%://*}
	lg_hostport=${ENSEMBLE#*://}
	lg_hostport=${lg_hostport%/}
	case $lg_hostport in
	'') die "LAKEGATE_ENSEMBLE=$ENSEMBLE names no host: give $lg_form" ;;
	*/*) die "LAKEGATE_ENSEMBLE=$ENSEMBLE has a path: give $lg_form" ;;
	esac
	lg_port=
	case $lg_hostport in
	\[*\]) lg_host=$lg_hostport ;;
	\[*\]:*)
		lg_host=${lg_hostport%:*}
		lg_port=${lg_hostport##*:}
		;;
	*:*:*) die "LAKEGATE_ENSEMBLE=$ENSEMBLE: write an IPv6 address in brackets, [addr]:port; $lg_form" ;;
	*:*)
		lg_host=${lg_hostport%:*}
		lg_port=${lg_hostport#*:}
		;;
	*) lg_host=$lg_hostport ;;
	esac
	case $lg_host in
	\[*\])
		lg_addr=${lg_host#[}
		lg_addr=${lg_addr%]}
		case $lg_addr in
		*[!0-9A-Fa-f:.]*) die "LAKEGATE_ENSEMBLE=$ENSEMBLE: $lg_host is not an IPv6 address; give $lg_form" ;;
		*:*) ;;
		*) die "LAKEGATE_ENSEMBLE=$ENSEMBLE: $lg_host is not an IPv6 address; give $lg_form" ;;
		esac
		;;
	'' | [!A-Za-z0-9]* | *[!A-Za-z0-9] | *[!A-Za-z0-9.-]*) die "LAKEGATE_ENSEMBLE=$ENSEMBLE: '$lg_host' is not a host name or address; give $lg_form" ;;
	esac
	case $lg_hostport in
	*:) die "LAKEGATE_ENSEMBLE=$ENSEMBLE: the port is empty; give $lg_form" ;;
	esac
	if [ -n "$lg_port" ]; then
		case $lg_port in *[!0-9]* | ??????*) die "LAKEGATE_ENSEMBLE=$ENSEMBLE: the port is not a number from 1 to 65535; give $lg_form" ;; esac
		if [ "$lg_port" -lt 1 ] || [ "$lg_port" -gt 65535 ]; then
			die "LAKEGATE_ENSEMBLE=$ENSEMBLE: the port is not a number from 1 to 65535; give $lg_form"
		fi
	fi
	ENSEMBLE=$lg_scheme://$lg_hostport
fi

PLANNER=${OKERA_PLANNER:-}
PLANNER=${PLANNER#http://}
PLANNER=${PLANNER%/}
case $PLANNER in
'') die "OKERA_PLANNER is not set: set it in the cluster's environment variables (spark_env_vars) to the planner's host:port, e.g. OKERA_PLANNER=planner.example.com:$LG_DEFAULT_PORT" ;;
https://*) die "OKERA_PLANNER=$OKERA_PLANNER: the planner speaks plain HTTP; give host:port" ;;
*[!]A-Za-z0-9.:_[-]*) die "OKERA_PLANNER=$OKERA_PLANNER is not a host:port" ;;
\[*\]:*) ;;
\[*\]) PLANNER=$PLANNER:$LG_DEFAULT_PORT ;;
*:*:*) die "OKERA_PLANNER=$OKERA_PLANNER: write an IPv6 address in brackets, [addr]:port" ;;
*:*) ;;
*) PLANNER=$PLANNER:$LG_DEFAULT_PORT ;;
esac
case ${PLANNER##*:} in
'' | *[!0-9]*) die "OKERA_PLANNER=$OKERA_PLANNER: the port is not a number" ;;
esac

# AUTH_MODE: the mode the extension will use (as it infers it), and its credential must be set.
AUTH_MODE=${LAKEGATE_AUTH_MODE:-}
if [ -n "${OKERA_TOKEN:-}" ]; then
	AUTH_MODE=okera-token
elif [ -z "$AUTH_MODE" ]; then
	if [ -n "${LAKEGATE_JWT_SIGNING_KEY:-}" ]; then
		AUTH_MODE=signing-key
	elif [ -n "${LAKEGATE_CLUSTER_TOKEN:-}" ]; then
		AUTH_MODE=cluster-token
	elif is_true "${LAKEGATE_SELF_SIGNED:-false}"; then
		AUTH_MODE=self-signed
	fi
fi
case $AUTH_MODE in
okera-token) ;;
signing-key) [ -n "${LAKEGATE_JWT_SIGNING_KEY:-}" ] || die "LAKEGATE_AUTH_MODE=signing-key needs LAKEGATE_JWT_SIGNING_KEY (a secret reference {{secrets/<scope>/<key>}} holding the PEM private key)" ;;
cluster-token) [ -n "${LAKEGATE_CLUSTER_TOKEN:-}" ] || die "LAKEGATE_AUTH_MODE=cluster-token needs LAKEGATE_CLUSTER_TOKEN (a secret reference {{secrets/<scope>/<key>}} holding the token)" ;;
self-signed) is_true "${LAKEGATE_SELF_SIGNED:-false}" || die "LAKEGATE_AUTH_MODE=self-signed needs LAKEGATE_SELF_SIGNED=true as well (proofs of concept only)" ;;
'') die "no credentials: set one of OKERA_TOKEN, LAKEGATE_JWT_SIGNING_KEY (High Concurrency / shared clusters), LAKEGATE_CLUSTER_TOKEN, or LAKEGATE_SELF_SIGNED=true (proofs of concept only), each as the cluster's environment variable; keys and tokens as secret references {{secrets/<scope>/<key>}}" ;;
*) die "LAKEGATE_AUTH_MODE=$AUTH_MODE is unknown: use signing-key, cluster-token, self-signed or okera-token" ;;
esac
if [ "$AUTH_MODE" = self-signed ]; then
	log "WARNING: self-signed authentication is for proofs of concept only: anyone on this cluster can claim to be any user, and only a planner started with --insecure-accept-self-signed accepts it"
fi

# A secret reference Databricks did not resolve reaches us as its literal text.
for lg_env in OKERA_TOKEN LAKEGATE_JWT_SIGNING_KEY LAKEGATE_CLUSTER_TOKEN; do
	eval "lg_val=\${$lg_env:-}"
	case $lg_val in
	'{{secrets/'*) die "$lg_env holds the unresolved reference $lg_val: create that secret (databricks secrets put-secret) and let the cluster's owner read its scope" ;;
	esac
done

# ---- 2. the runtime and its jar ----------------------------------------------------------------

RUNTIME=${DATABRICKS_RUNTIME_VERSION:-}
RUNTIME_FROM=DATABRICKS_RUNTIME_VERSION
if [ -z "$RUNTIME" ] && [ -r "$DBR_VERSION_FILE" ]; then
	RUNTIME=$(head -n 1 "$DBR_VERSION_FILE" | tr -d ' \t\r')
	RUNTIME_FROM=$DBR_VERSION_FILE
fi
# deploy.conf holds the full version key, e.g. "16.4.x-scala2.13".
SPARK_VERSION_KEY=
if [ -r "$DEPLOY_CONF" ]; then
	SPARK_VERSION_KEY=$(sed -n 's/.*spark\.databricks\.clusterUsageTags\.sparkVersion[^0-9]*\([0-9][0-9A-Za-z._-]*\).*/\1/p' "$DEPLOY_CONF" | head -n 1)
fi
if [ -z "$RUNTIME" ] && [ -n "$SPARK_VERSION_KEY" ]; then
	RUNTIME=$SPARK_VERSION_KEY
	RUNTIME_FROM=$DEPLOY_CONF
fi

VARIANT=${LAKEGATE_JAR_VARIANT:-}
if [ -n "$VARIANT" ]; then
	log "LAKEGATE_JAR_VARIANT=$VARIANT forces the jar (runtime: ${RUNTIME:-unknown}); supported runtimes are $LG_SUPPORTED"
else
	[ -n "$RUNTIME" ] || die "cannot tell the Databricks runtime version: DATABRICKS_RUNTIME_VERSION is not set and neither $DBR_VERSION_FILE nor $DEPLOY_CONF names it; supported: $LG_SUPPORTED"
	case $RUNTIME in
	[0-9]*.[0-9]*) ;;
	*) die "the Databricks runtime version '$RUNTIME' (from $RUNTIME_FROM) is not a version number; supported: $LG_SUPPORTED" ;;
	esac
	MAJOR=${RUNTIME%%.*}
	case $MAJOR in *[!0-9]*) die "the Databricks runtime version '$RUNTIME' (from $RUNTIME_FROM) is not a version number; supported: $LG_SUPPORTED" ;; esac
	LINE=
	while read -r lg_major lg_line lg_default lg_scalas; do
		if [ "$lg_major" = "$MAJOR" ]; then
			LINE=$lg_line
			DEFAULT_SCALA=$lg_default
			SCALAS=$lg_scalas
		fi
	done <<EOF
$LG_RUNTIMES
EOF
	[ -n "$LINE" ] || die "Databricks runtime $RUNTIME (from $RUNTIME_FROM) is not supported by lakegate $LG_VERSION; supported: $LG_SUPPORTED (LAKEGATE_JAR_VARIANT, one of: $LG_VARIANTS, forces a jar, at your own risk)"
	# The Scala version: from the version key, else from the Scala library Databricks ships, else the default.
	SCALA=
	SCALA_FROM=
	for lg_key in "$RUNTIME" "$SPARK_VERSION_KEY"; do
		case $lg_key in
		*scala2.13*) SCALA=2.13 ;;
		*scala2.12*) SCALA=2.12 ;;
		*) continue ;;
		esac
		SCALA_FROM="the version key $lg_key"
		break
	done
	if [ -z "$SCALA" ]; then
		for lg_jar in "$JARS_DIR"/*scala-library*2.1[23].[0-9]*.jar; do
			case $lg_jar in
			*scala-library*2.13.[0-9]*.jar) SCALA=2.13 ;;
			*scala-library*2.12.[0-9]*.jar) SCALA=2.12 ;;
			*) continue ;;
			esac
			SCALA_FROM=$lg_jar
			break
		done
	fi
	if [ -z "$SCALA" ]; then
		SCALA=$DEFAULT_SCALA
		SCALA_FROM="the default of runtime $MAJOR.x"
	fi
	case ",$SCALAS," in
	*",$SCALA,"*) ;;
	*) die "Databricks runtime $RUNTIME with Scala $SCALA (from $SCALA_FROM) is not supported; supported: $LG_SUPPORTED" ;;
	esac
	VARIANT=${LINE}_$SCALA
	log "Databricks runtime $RUNTIME (from $RUNTIME_FROM), Scala $SCALA (from $SCALA_FROM): Spark $LINE jar"
fi
case " $LG_VARIANTS " in
*" $VARIANT "*) ;;
*) die "LAKEGATE_JAR_VARIANT=$VARIANT is not a lakegate jar; use one of: $LG_VARIANTS" ;;
esac
JAR=lakegate-spark-$VARIANT.jar

WANT_SHA256=
while read -r lg_name lg_sum; do
	if [ "$lg_name" = "$JAR" ]; then WANT_SHA256=$lg_sum; fi
done <<EOF
$LG_SHA256
EOF

# ---- 3. the planner (and the ensemble) answer (driver) ------------------------------------------

# probe URL TIMEOUT: one GET with the first tool this node has; prints why it failed.
probe() {
	case $PROBE_TOOL in
	curl) curl -fsS -o /dev/null --connect-timeout "$2" --max-time "$2" "$1" 2>&1 ;;
	wget) wget -q -O /dev/null -T "$2" -t 1 "$1" 2>&1 ;;
	python3)
		lg_out=$(python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()' "$1" "$2" 2>&1) && return 0
		printf '%s\n' "$lg_out" | tail -n 1
		return 1
		;;
	nc) # TCP only: the port is open
		lg_hostport=${PLANNER#[}
		lg_host=${lg_hostport%:*}
		nc -z -w "$2" "${lg_host%]}" "${PLANNER##*:}" 2>&1
		;;
	esac
}

# check_health WHAT VAR URL ADVICE: GET URL with PROBE_TOOL until it answers, at most ATTEMPTS
# times; else die, naming WHAT (set by the environment variable VAR), with ADVICE.
check_health() {
	lg_try=1
	while :; do
		if lg_why=$(probe "$3" "$TIMEOUT"); then
			log "$1 answers ($3, checked with $PROBE_TOOL)"
			return 0
		fi
		if [ "$lg_try" -ge "$ATTEMPTS" ]; then
			die "$1 ($2) is unreachable: GET $3 failed $ATTEMPTS time(s), ${TIMEOUT}s each ($PROBE_TOOL: ${lg_why:-no answer}); $4"
		fi
		lg_try=$((lg_try + 1))
		sleep 2
	done
}

if [ "$IS_DRIVER" = 1 ]; then
	HEALTH_URL="http://$PLANNER/healthz"
	ATTEMPTS=${LAKEGATE_PLANNER_CHECK_ATTEMPTS:-3}
	TIMEOUT=${LAKEGATE_PLANNER_CHECK_TIMEOUT:-5}
	case $ATTEMPTS$TIMEOUT in *[!0-9]*) die "LAKEGATE_PLANNER_CHECK_ATTEMPTS and LAKEGATE_PLANNER_CHECK_TIMEOUT must be whole numbers" ;; esac
	[ "$TIMEOUT" -ge 1 ] || TIMEOUT=1 # curl and wget read 0 as "no timeout"
	PROBE_TOOL=
	for lg_tool in curl wget python3 nc; do
		if command -v "$lg_tool" >/dev/null 2>&1; then
			PROBE_TOOL=$lg_tool
			break
		fi
	done
	if [ -z "$PROBE_TOOL" ]; then
		log "WARNING: none of curl, wget, python3, nc is on this node: cannot check that the planner at $PLANNER answers"
	else
		check_health "the planner at $PLANNER" OKERA_PLANNER "$HEALTH_URL" "check OKERA_PLANNER, that the planner runs, and that this cluster's network (security groups, firewall, peering) lets the driver reach it"
	fi
	if [ "$USE_ENSEMBLE" = true ]; then
		# Fail closed: files are governed only through the ensemble, so it must answer (an HTTP
		# check: nc, which only sees an open port, does not do).
		case $PROBE_TOOL in
		curl | wget | python3) ;;
		*) die "none of curl, wget, python3 is on this node: cannot check that the ensemble at $ENSEMBLE (LAKEGATE_ENSEMBLE) answers, which OKERA_ENABLE_OKERA_FS=true requires" ;;
		esac
		check_health "the ensemble at $ENSEMBLE" LAKEGATE_ENSEMBLE "$ENSEMBLE/_lakegate/healthz" "check LAKEGATE_ENSEMBLE, that the ensemble (lakegate ensemble) runs, that an https:// ensemble has a certificate this node trusts, and that this cluster's network (security groups, firewall, peering) lets the driver reach it"
	fi
fi

# ---- 4. the jar, on every node -----------------------------------------------------------------

mkdir -p "$JARS_DIR"
TMP_JAR=$JARS_DIR/.lakegate-download.$$
trap 'rm -f "$TMP_JAR"' EXIT
case $LG_LIBS_FROM in
dbfs:/*) lg_src=$DBFS_DIR/${LG_LIBS_FROM#dbfs:/}/$JAR ;;
/*) lg_src=$ROOT$LG_LIBS_FROM/$JAR ;;
*) lg_src=$LG_LIBS_FROM/$JAR ;;
esac
case $LG_LIBS_FROM in
s3://*)
	if command -v aws >/dev/null 2>&1; then
		aws s3 cp --only-show-errors "$lg_src" "$TMP_JAR" || die "aws s3 cp $lg_src failed (does the cluster's instance profile allow s3:GetObject there?)"
	elif command -v python3 >/dev/null 2>&1 && python3 -c 'import boto3' 2>/dev/null; then
		lg_path=${lg_src#s3://}
		python3 -c 'import sys, boto3
boto3.client("s3").download_file(sys.argv[1], sys.argv[2], sys.argv[3])' "${lg_path%%/*}" "${lg_path#*/}" "$TMP_JAR" ||
			die "downloading $lg_src with boto3 failed (does the cluster's instance profile allow s3:GetObject there?)"
	else
		die "cannot read $lg_src: neither the aws CLI nor Python's boto3 is on this node; host the libs on DBFS or a volume"
	fi
	;;
https://*)
	curl -fsSL --retry 3 -o "$TMP_JAR" "$lg_src" || die "downloading $lg_src failed"
	;;
*)
	[ -f "$lg_src" ] || die "$JAR is not in the libs location $LG_LIBS_FROM ($lg_src is missing): upload it with 'lakegate databricks upload-libs --to $LG_LIBS_FROM'"
	cp "$lg_src" "$TMP_JAR" || die "cannot copy $lg_src to $JARS_DIR"
	;;
esac
if [ -n "$WANT_SHA256" ]; then
	if command -v sha256sum >/dev/null 2>&1; then
		GOT_SHA256=$(sha256sum "$TMP_JAR" | cut -d ' ' -f 1)
	elif command -v openssl >/dev/null 2>&1; then
		GOT_SHA256=$(openssl dgst -sha256 "$TMP_JAR" | sed 's/.*= *//')
	else
		die "neither sha256sum nor openssl is on this node: cannot check $JAR against the SHA-256 this script pins"
	fi
	[ "$GOT_SHA256" = "$WANT_SHA256" ] || die "$lg_src has SHA-256 $GOT_SHA256, but this init script was generated for $WANT_SHA256: the jar in $LG_LIBS_FROM was replaced or is corrupt; upload the jars and this script together with 'lakegate databricks upload-libs'"
	log "$JAR: SHA-256 $GOT_SHA256 as pinned"
fi
rm -f "$JARS_DIR"/lakegate-spark-*.jar
chmod 0644 "$TMP_JAR"
mv -f "$TMP_JAR" "$JARS_DIR/$JAR"
log "installed $JARS_DIR/$JAR"

if [ "$IS_DRIVER" != 1 ]; then
	log "done (worker node: the jar only)"
	exit 0
fi

# ---- 5. secrets and the driver's Spark configuration (driver) -----------------------------------

# hocon_string VALUE: VALUE as a quoted string of the driver conf format (a JSON string).
hocon_string() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# conf_line KEY VALUE (appends to the conf file being written)
conf_line() {
	lg_ctl=$(printf '%s' "$2" | LC_ALL=C tr -d '\040-\176\200-\377' && printf x) # x: $() would drop a trailing line break
	[ "$lg_ctl" = x ] || die "the value for $1 holds a line break or another control character"
	printf '  %s = %s\n' "$(hocon_string "$1")" "$(hocon_string "$2")" >>"$TMP_CONF"
}

# write_secret ENV: the credential in ENV (its text, or the file it names) into SECRET_FILE, a file
# only this node's root can read, created so (umask 077) in a directory of mode 0700.
write_secret() {
	eval "lg_secret=\${$1}"
	SECRET_FILE=$SECRETS_DIR/$1
	if [ -f "$lg_secret" ]; then
		(umask 077 && cp "$lg_secret" "$SECRET_FILE") || die "cannot copy the file named by $1"
	else
		(umask 077 && printf '%s\n' "$lg_secret" >"$SECRET_FILE") || die "cannot write $SECRET_FILE"
	fi
	lg_secret=
	chmod 0600 "$SECRET_FILE"
}

rm -rf "$STATE_DIR"
(umask 077 && mkdir -p "$SECRETS_DIR") || die "cannot create $SECRETS_DIR"
chmod 0700 "$STATE_DIR" "$SECRETS_DIR"
mkdir -p "$CONF_DIR"
rm -f "$CONF_DIR"/00-lakegate-*.conf
TMP_CONF=$CONF_DIR/.00-lakegate-spark.conf.$$
trap 'rm -f "$TMP_JAR" "$TMP_CONF"' EXIT
{
	printf '# Written by the lakegate init script (lakegate %s) at %s; rewritten at every cluster start.\n' "$LG_VERSION" "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	printf '# Change the cluster'"'"'s environment variables and restart instead of editing it.\n'
	printf '[driver] {\n'
} >"$TMP_CONF"

conf_line spark.sql.extensions "${LAKEGATE_EXTRA_SQL_EXTENSIONS:+$LAKEGATE_EXTRA_SQL_EXTENSIONS,}$LG_EXTENSION"
while read -r lg_conf lg_env lg_kind; do
	eval "lg_val=\${$lg_env:-}"
	[ -n "$lg_val" ] || continue
	case $lg_kind in
	okerafs) continue ;; # below: both checked, or neither
	planner) lg_val=$PLANNER ;;
	secret)
		write_secret "$lg_env"
		lg_val=$SECRET_FILE
		log "$lg_conf = $lg_val (a file of mode 0600 holding $lg_env)"
		;;
	esac
	conf_line "$lg_conf" "$lg_val"
	[ "$lg_kind" = secret ] || log "$lg_conf = $lg_val (from $lg_env)"
done <<EOF
$LG_SETTINGS
EOF
if [ "$USE_ENSEMBLE" = true ]; then
	conf_line spark.lakegate.okeraFs true
	conf_line spark.lakegate.ensemble "$ENSEMBLE"
	# What the extension requires at every session start (OkeraFs.install in lakegate-spark):
	# from the JVM's start, s3a and s3 reach storage only through the ensemble, with no
	# credentials of their own, each request signed with the key of the user it works for.
	conf_line spark.plugins io.lakegate.spark.ensemble.EnsemblePlugin
	case $ENSEMBLE in https://*) lg_ssl=true ;; *) lg_ssl=false ;; esac
	while read -r lg_conf lg_val; do
		conf_line "spark.hadoop.$lg_conf" "$lg_val"
	done <<EOF
fs.s3a.impl org.apache.hadoop.fs.s3a.S3AFileSystem
fs.s3.impl org.apache.hadoop.fs.s3a.S3AFileSystem
fs.s3a.endpoint $ENSEMBLE
fs.s3a.endpoint.region us-east-1
fs.s3a.path.style.access true
fs.s3a.connection.ssl.enabled $lg_ssl
fs.s3a.aws.credentials.provider io.lakegate.spark.ensemble.UnboundCredentialsProvider
fs.s3a.audit.enabled true
fs.s3a.audit.service.classname io.lakegate.spark.ensemble.EnsembleAuditor
fs.s3a.bucket.probe 0
EOF
	log "spark.lakegate.okeraFs = true, spark.lakegate.ensemble = $ENSEMBLE (from OKERA_ENABLE_OKERA_FS, LAKEGATE_ENSEMBLE), spark.plugins and spark.hadoop.fs.s3a.*: s3a goes through the ensemble with each user's key"
fi
while read -r lg_env lg_conf; do
	eval "lg_val=\${$lg_env:-}"
	[ -n "$lg_val" ] || continue
	conf_line "$lg_conf" "$lg_val"
	log "$lg_conf set (from $lg_env)"
done <<EOF
$LG_METASTORE
EOF
if [ "$LG_INIT_HMS_SCHEMA" = true ]; then
	while read -r lg_conf lg_val; do
		conf_line "$lg_conf" "$lg_val"
	done <<EOF
$LG_HMS_SCHEMA
EOF
	log "WARNING: this script was generated with --init-hms-schema: Spark may create the metastore's tables (datanucleus.autoCreateSchema=true, hive.metastore.schema.verification=false); after the first start, upload a script generated without it"
fi
printf '}\n' >>"$TMP_CONF"
chmod 0644 "$TMP_CONF"
mv -f "$TMP_CONF" "$CONF_FILE"
log "wrote $CONF_FILE (authentication: $AUTH_MODE, planner: $PLANNER${ENSEMBLE:+, ensemble: $ENSEMBLE})"
log "done (driver node)"
