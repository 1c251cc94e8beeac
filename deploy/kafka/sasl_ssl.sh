# shellcheck shell=bash
# Sourced by kafka.sh when KAFKA_SECURITY=sasl_ssl: a broker whose only client
# listener is SASL_SSL (SCRAM-SHA-512 over TLS), for testing the worker's and the
# tools' security settings against a real broker.  Everything is throwaway and
# made on the first start in $KAFKA_STATE_DIR:
#
#   tls/ca.pem, tls/ca.key      a CA of its own (EC P-256, 365 days)
#   tls/broker.p12              the broker's key and certificate (SAN 127.0.0.1,
#                               localhost), signed by that CA, chain included
#   secrets/keystore.password   the PKCS12 store's password
#   secrets/broker.password     the SCRAM password of user "broker" (inter-broker)
#   client.password             the client user's SCRAM password (KAFKA_SASL_PASSWORD_FILE)
#   client.env                  the JOURNEYS_* settings of a client (no password)
#
# SCRAM users are created when the data dir is formatted (StorageTool format
# --add-scram), so a password is fixed from then on: `start --clean` wipes the data,
# the certificates and the generated passwords and makes new ones.  Certificates
# come from openssl when it is installed, else from the JDK's keytool (slower:
# one JVM per step).  The controller listener stays PLAINTEXT on 127.0.0.1 (SCRAM
# cannot secure a KRaft controller listener: its credentials live in the metadata
# the controller serves, KAFKA-15513); clients have no other way in than SASL_SSL.

KAFKA_SASL_USER="${KAFKA_SASL_USER:-journeys}"
KAFKA_SASL_PASSWORD_FILE="${KAFKA_SASL_PASSWORD_FILE:-$KAFKA_STATE_DIR/client.password}"
SASL_MECHANISM=SCRAM-SHA-512
TLS_DIR="$KAFKA_STATE_DIR/tls"
SECRET_DIR="$KAFKA_STATE_DIR/secrets"
CA_PEM="$TLS_DIR/ca.pem"
KEYSTORE="$TLS_DIR/broker.p12"
KEYSTORE_PASSWORD_FILE="$SECRET_DIR/keystore.password"
BROKER_PASSWORD_FILE="$SECRET_DIR/broker.password"
CLIENT_ENV="$KAFKA_STATE_DIR/client.env"
CERT_DAYS=365
SCRAM_ARGS=()

[[ "$KAFKA_SASL_USER" =~ ^[A-Za-z0-9._-]+$ && "$KAFKA_SASL_USER" != broker ]] ||
    die "KAFKA_SASL_USER must be letters, digits, '._-' and not 'broker', got '$KAFKA_SASL_USER'"

# The probe of kafka.sh (wait_ready, status) logs in as the client user.
PROBE_ENV=(KAFKA_SH_PROBE_PROTOCOL=SASL_SSL KAFKA_SH_PROBE_MECHANISM="$SASL_MECHANISM"
           KAFKA_SH_PROBE_CAFILE="$CA_PEM" KAFKA_SH_PROBE_USER="$KAFKA_SASL_USER"
           KAFKA_SH_PROBE_PASSWORD_FILE="$KAFKA_SASL_PASSWORD_FILE")

random_secret() { od -An -N18 -tx1 /dev/urandom | tr -d ' \n'; }

read_secret() { # file -> its first line; only characters the SCRAM argument and JAAS take
    local value
    [[ -r "$1" ]] || die "cannot read the password file $1"
    value="$(head -n1 "$1" | tr -d '\r\n')"
    [[ "$value" =~ ^[A-Za-z0-9._~+-]{8,}$ ]] ||
        die "the password in $1 must be 8 or more of A-Z a-z 0-9 . _ ~ + -"
    printf '%s' "$value"
}

new_secret_file() { # file: a random password in it unless it exists
    [[ -s "$1" ]] && return 0
    mkdir -p "$(dirname "$1")"
    (umask 077; random_secret >"$1"; echo >>"$1")
}

tls_openssl() {
    local pass="file:$KEYSTORE_PASSWORD_FILE" ext="$TLS_DIR/broker.ext"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:$HOST,DNS:localhost" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" >"$ext"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -keyout "$TLS_DIR/ca.key" -out "$CA_PEM" -days "$CERT_DAYS" \
        -subj "/CN=journeys local test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -keyout "$TLS_DIR/broker.key" -out "$TLS_DIR/broker.csr" -subj "/CN=localhost" &&
    openssl x509 -req -in "$TLS_DIR/broker.csr" -CA "$CA_PEM" -CAkey "$TLS_DIR/ca.key" \
        -CAcreateserial -sha256 -days "$CERT_DAYS" -extfile "$ext" -out "$TLS_DIR/broker.pem" &&
    openssl pkcs12 -export -name broker -in "$TLS_DIR/broker.pem" -inkey "$TLS_DIR/broker.key" \
        -certfile "$CA_PEM" -passout "$pass" -out "$KEYSTORE"
}

tls_keytool() {
    local store=(-storetype PKCS12 -storepass:file "$KEYSTORE_PASSWORD_FILE")
    local key=(-keyalg EC -groupname secp256r1 -validity "$CERT_DAYS")
    keytool -genkeypair -alias ca "${key[@]}" -dname "CN=journeys local test CA" -ext bc:c \
        -keystore "$TLS_DIR/ca.p12" "${store[@]}" &&
    keytool -exportcert -rfc -alias ca -keystore "$TLS_DIR/ca.p12" "${store[@]}" -file "$CA_PEM" &&
    keytool -genkeypair -alias broker "${key[@]}" -dname "CN=localhost" \
        -keystore "$KEYSTORE" "${store[@]}" &&
    keytool -certreq -alias broker -keystore "$KEYSTORE" "${store[@]}" -file "$TLS_DIR/broker.csr" &&
    keytool -gencert -alias ca -keystore "$TLS_DIR/ca.p12" "${store[@]}" -rfc \
        -infile "$TLS_DIR/broker.csr" -outfile "$TLS_DIR/broker.pem" -validity "$CERT_DAYS" \
        -ext "SAN=ip:$HOST,dns:localhost" -ext "EKU=serverAuth,clientAuth" -ext "KU=digitalSignature" &&
    keytool -importcert -noprompt -alias ca -file "$CA_PEM" -keystore "$KEYSTORE" "${store[@]}" &&
    keytool -importcert -alias broker -file "$TLS_DIR/broker.pem" -keystore "$KEYSTORE" "${store[@]}"
}

make_tls() { # the CA and the broker's keystore, once per state dir
    [[ -s "$CA_PEM" && -s "$KEYSTORE" && -s "$KEYSTORE_PASSWORD_FILE" ]] && return 0
    local tool=openssl log="$LOG_DIR/tls.log"
    if ! command -v openssl >/dev/null 2>&1 || [[ "${KAFKA_CERT_TOOL:-}" == keytool ]]; then
        tool=keytool
    fi
    command -v "$tool" >/dev/null 2>&1 || die "neither openssl nor keytool found (keytool comes with the JDK)"
    rm -rf "$TLS_DIR" "$KEYSTORE_PASSWORD_FILE"
    mkdir -p "$TLS_DIR"
    new_secret_file "$KEYSTORE_PASSWORD_FILE"
    say "making a throwaway CA and broker certificate with $tool in $TLS_DIR"
    if ! (umask 077; "tls_$tool") >"$log" 2>&1; then
        rm -rf "$TLS_DIR"
        die "making the TLS certificates with $tool failed" "$log"
    fi
    chmod 644 "$CA_PEM"
}

# Called by cmd_start before the config is written: certificates, passwords, and the
# SCRAM users for the format step (in SCRAM_ARGS).
sasl_ssl_prepare() { # clean (1: --clean was given)
    if [[ "$1" -eq 1 ]]; then
        say "--clean: new certificates and passwords"
        rm -rf "$TLS_DIR" "$SECRET_DIR" "$CLIENT_ENV"
        if [[ "$KAFKA_SASL_PASSWORD_FILE" == "$KAFKA_STATE_DIR/client.password" ]]; then
            rm -f "$KAFKA_SASL_PASSWORD_FILE"
        fi
    fi
    if [[ -f "$DATA_DIR/meta.properties" && ! -s "$BROKER_PASSWORD_FILE" ]]; then
        die "$BROKER_PASSWORD_FILE is missing but $DATA_DIR is formatted: start --clean"
    fi
    make_tls
    new_secret_file "$BROKER_PASSWORD_FILE"
    new_secret_file "$KAFKA_SASL_PASSWORD_FILE"
    local broker client
    broker="$(read_secret "$BROKER_PASSWORD_FILE")"
    client="$(read_secret "$KAFKA_SASL_PASSWORD_FILE")"
    SCRAM_ARGS=(--add-scram "$SASL_MECHANISM=[name=broker,password=$broker]"
                --add-scram "$SASL_MECHANISM=[name=$KAFKA_SASL_USER,password=$client]")
}

sasl_ssl_listener_config() {
    local keystore_password broker
    keystore_password="$(read_secret "$KEYSTORE_PASSWORD_FILE")"
    broker="$(read_secret "$BROKER_PASSWORD_FILE")"
    cat <<EOF
listeners=SASL_SSL://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://$HOST:$KAFKA_PORT
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=$SASL_MECHANISM
sasl.mechanism.inter.broker.protocol=$SASL_MECHANISM
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$broker";
ssl.keystore.type=PKCS12
ssl.keystore.location=$KEYSTORE
ssl.keystore.password=$keystore_password
ssl.key.password=$keystore_password
ssl.truststore.type=PEM
ssl.truststore.location=$CA_PEM
ssl.client.auth=none
ssl.endpoint.identification.algorithm=https
EOF
}

sasl_ssl_client_env() { # the JOURNEYS_* settings of a client; the password stays in its file
    cat <<EOF
# a client of the SASL_SSL broker at $BOOTSTRAP (kafka.sh client-env); the password is
# not here: export JOURNEYS_SASL_PASSWORD="\$(cat $KAFKA_SASL_PASSWORD_FILE)"
JOURNEYS_BOOTSTRAP_SERVERS=$BOOTSTRAP
JOURNEYS_SECURITY_PROTOCOL=SASL_SSL
JOURNEYS_SASL_MECHANISM=$SASL_MECHANISM
JOURNEYS_SASL_USERNAME=$KAFKA_SASL_USER
JOURNEYS_SSL_CAFILE=$CA_PEM
EOF
}

sasl_ssl_summary() { # the part of the "started" line a client needs
    printf '%s' "SASL_SSL, $SASL_MECHANISM user $KAFKA_SASL_USER, CA $CA_PEM, password in $KAFKA_SASL_PASSWORD_FILE; client settings: $CLIENT_ENV"
}
