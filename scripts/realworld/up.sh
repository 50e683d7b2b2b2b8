#!/usr/bin/env bash
# Brings up a small real mail and DNS world on loopback (block 127.30.0.0/16), for the real-server
# test (`tests/scenario/realworld.rs`) and for trying the scanner by hand:
#   - nsd on 127.30.53.1:53, authoritative for a root zone of our own and for rw.test (both signed
#     with ldns-signzone, ECDSA P-256, rw.test delegated with a DS), plain.test and mailprov.test
#     (unsigned; viamx.plain.test reaches its mail-app servers through its MX at mailprov.test);
#   - unbound on 127.30.53.2:53, validating, with nsd as its root server and our root's key as anchor;
#   - postfix with one smtpd listener per TLS posture on 127.30.0.2-8, port 25, and submission on
#     127.30.1.4 (587 with AUTH only after STARTTLS, 465) and 127.30.1.5 (587, no TLS, AUTH in clear);
#   - dovecot with IMAP and POP3 on 127.30.1.2 (143/110 with STARTTLS/STLS, 993/995) and 127.30.1.3
#     (plaintext authentication allowed before TLS);
#   - reverse DNS: 30.127.in-addr.arpa in nsd (PTR records that confirm, one generic name that does
#     not resolve, one address without PTR);
#   - BIMI: brand.rw.test publishes default._bimi with an SVG Tiny PS logo and a mark certificate (a
#     VMC from a mark CA of our own, $RW_DIR/pki/mark-ca.pem), served over HTTPS by openssl s_server
#     -WWW on 127.30.2.1:443 as bimi.rw.test.
# Needs root and the Debian packages postfix, unbound, nsd, ldnsutils and openssl. Everything lives
# in $RW_DIR (default /tmp/mailcensus-realworld); scripts/realworld/down.sh stops it all and restores
# /etc/postfix. Prints the scan flags to use at the end.
set -euo pipefail

RW_DIR=${RW_DIR:-/tmp/mailcensus-realworld}
HERE=$(cd "$(dirname "$0")" && pwd)
NS_IP=127.30.53.1
RESOLVER_IP=127.30.53.2

for tool in postfix unbound nsd dovecot ldns-signzone ldns-keygen openssl; do
    command -v "$tool" >/dev/null || { echo "up.sh: $tool is missing (apt-get install postfix unbound nsd ldnsutils openssl dovecot-imapd dovecot-pop3d)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "up.sh: needs root (port 25 and 53, /etc/postfix)" >&2; exit 2; }

# The distribution's own instances, if the packages started any, would hold the ports.
for svc in postfix dovecot unbound nsd; do
    service "$svc" stop >/dev/null 2>&1 || true
done
"$HERE/down.sh" >/dev/null 2>&1 || true
rm -rf "$RW_DIR"
mkdir -p "$RW_DIR"/{pki,dns,postfix}
cd "$RW_DIR"

# ---- certificates: a test CA, leaves for each posture ----
pki=$RW_DIR/pki
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" \
    -days 30 -subj "/CN=mailcensus realworld CA" 2>/dev/null
touch "$pki/index.txt"
echo 01 > "$pki/serial"
cat > "$pki/ca.cnf" <<CNF
[ca]
default_ca = rw
[rw]
dir = $pki
database = $pki/index.txt
serial = $pki/serial
new_certs_dir = $pki
certificate = $pki/ca.pem
private_key = $pki/ca.key
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
CNF
# leaf NAME SAN [startdate enddate]: signed by the CA (dates YYYYMMDDHHMMSSZ, default: valid now)
leaf() {
    local name=$1 san=$2 start=${3:-} end=${4:-}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$name.key" -out "$pki/$name.csr" \
        -subj "/CN=$san" -addext "subjectAltName=DNS:$san" 2>/dev/null
    if [ -n "$start" ]; then
        openssl ca -batch -config "$pki/ca.cnf" -in "$pki/$name.csr" -out "$pki/$name.pem" -notext \
            -startdate "$start" -enddate "$end" 2>/dev/null
    else
        openssl ca -batch -config "$pki/ca.cnf" -in "$pki/$name.csr" -out "$pki/$name.pem" -notext -days 30 2>/dev/null
    fi
}
leaf valid mx-valid.rw.test
leaf expired mx-expired.rw.test 20200101000000Z 20200201000000Z
leaf mismatch other.rw.test
leaf tls12 mx-tls12.rw.test
leaf postscreen mx-postscreen.rw.test
leaf_multi() {
    local name=$1; shift
    local sans; sans=$(printf 'DNS:%s,' "$@"); sans=${sans%,}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$name.key" -out "$pki/$name.csr" \
        -subj "/CN=$1" -addext "subjectAltName=$sans" 2>/dev/null
    openssl ca -batch -config "$pki/ca.cnf" -in "$pki/$name.csr" -out "$pki/$name.pem" -notext -days 30 2>/dev/null
}
leaf bimi bimi.rw.test
leaf_multi imap imap.rw.test imap-plain.rw.test
leaf_multi submit smtp-sub.rw.test smtp-plain.rw.test
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/selfsigned.key" \
    -out "$pki/selfsigned.pem" -days 30 -subj "/CN=mx-selfsigned.rw.test" \
    -addext "subjectAltName=DNS:mx-selfsigned.rw.test" 2>/dev/null
# A mark-certificate CA and a VMC for brand.rw.test: the mark EKU, the domain, and the logo embedded
# (gzipped, base64, in a data: URI) in the logotype extension, as real VMCs carry it.
www=$RW_DIR/www
mkdir -p "$www/brand"
cat > "$www/brand/logo.svg" <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 10 10"><title>RW brand</title><rect width="10" height="10" fill="#c00"/></svg>
SVG
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/mark-ca.key" -out "$pki/mark-ca.pem" \
    -days 30 -subj "/CN=mailcensus realworld mark CA" 2>/dev/null
logo_uri="data:image/svg+xml;base64,$(gzip -9nc "$www/brand/logo.svg" | base64 -w0)"
cat > "$pki/vmc.cnf" <<CNF
oid_section = new_oids
[new_oids]
markType = 1.3.6.1.4.1.53087.1.13
[req]
distinguished_name = dn
[dn]
[vmc]
subjectAltName = DNS:brand.rw.test
extendedKeyUsage = 1.3.6.1.5.5.7.3.31
basicConstraints = critical,CA:FALSE
1.3.6.1.5.5.7.1.12 = ASN1:SEQUENCE:logotype
[logotype]
uri = IA5STRING:$logo_uri
CNF
openssl req -config "$pki/vmc.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/vmc.key" \
    -out "$pki/vmc.csr" -subj "/CN=RW Brand/markType=Registered Mark" 2>/dev/null
openssl x509 -req -in "$pki/vmc.csr" -CA "$pki/mark-ca.pem" -CAkey "$pki/mark-ca.key" -CAcreateserial -days 30 \
    -extfile "$pki/vmc.cnf" -extensions vmc -out "$pki/vmc.pem" 2>/dev/null
cat "$pki/vmc.pem" "$pki/mark-ca.pem" > "$www/brand/vmc.pem"
chmod 600 "$pki"/*.key
tlsa=$(openssl x509 -in "$pki/valid.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)

# ---- DNS: a signed root of our own (so DNSSEC works as on the internet, from a root trust
# anchor), a signed rw.test delegated with a DS, and an unsigned plain.test delegated without one ----
dns=$RW_DIR/dns
cat > "$dns/rw.test.zone" <<ZONE
\$ORIGIN rw.test.
\$TTL 300
@                 SOA   ns.rw.test. hostmaster.rw.test. 1 3600 600 86400 300
@                 NS    ns.rw.test.
ns                A     $NS_IP
valid             MX    10 mx-valid
valid             TXT   "v=spf1 mx -all"
_dmarc.valid      TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@valid.rw.test"
_smtp._tls.valid  TXT   "v=TLSRPTv1; rua=mailto:tlsrpt@valid.rw.test"
_mta-sts.valid    TXT   "v=STSv1; id=20261128"
mx-valid          A     127.30.0.2
_25._tcp.mx-valid TLSA  3 1 1 $tlsa
selfsigned        MX    10 mx-selfsigned
selfsigned        TXT   "v=spf1 include:nothing.rw.test -all"
mx-selfsigned     A     127.30.0.3
expired           MX    10 mx-expired
mx-expired        A     127.30.0.4
mismatch          MX    10 mx-mismatch
mx-mismatch       A     127.30.0.5
nostarttls        MX    10 mx-nostarttls
mx-nostarttls     A     127.30.0.6
tls12             MX    10 mx-tls12
mx-tls12          A     127.30.0.7
postscreen        MX    10 mx-postscreen
mx-postscreen     A     127.30.0.8
nullmx            MX    0 .
nullmx            TXT   "v=spf1 -all"
implicit          A     127.30.0.2
bogus             MX    10 mx-valid
_dmarc            TXT   "v=DMARC1; p=quarantine; sp=reject"
; BIMI: a logo and a VMC on bimi.rw.test, DMARC at enforcement
brand             MX    10 mx-valid
brand             TXT   "v=spf1 mx -all"
_dmarc.brand      TXT   "v=DMARC1; p=reject"
default._bimi.brand TXT "v=BIMI1; l=https://bimi.rw.test/brand/logo.svg; a=https://bimi.rw.test/brand/vmc.pem"
bimi              A     127.30.2.1
; client endpoints: dovecot (IMAP, POP3) and postfix submission, published with SRV records
imap              A     127.30.1.2
imap-plain        A     127.30.1.3
smtp-sub          A     127.30.1.4
smtp-plain        A     127.30.1.5
clients           MX    10 mx-valid
_submissions._tcp.clients SRV 0 0 465 smtp-sub
_submission._tcp.clients  SRV 0 0 587 smtp-sub
_imaps._tcp.clients       SRV 0 0 993 imap
_imap._tcp.clients        SRV 0 0 143 imap
_pop3s._tcp.clients       SRV 0 0 995 imap
_pop3._tcp.clients        SRV 0 0 110 imap
clientplain       MX    10 mx-valid
_submissions._tcp.clientplain SRV 0 0 0 .
_submission._tcp.clientplain  SRV 0 0 587 smtp-plain
_imaps._tcp.clientplain       SRV 0 0 0 .
_imap._tcp.clientplain        SRV 0 0 143 imap-plain
_pop3s._tcp.clientplain       SRV 0 0 0 .
_pop3._tcp.clientplain        SRV 0 0 110 imap-plain
ZONE
cat > "$dns/plain.test.zone" <<ZONE
\$ORIGIN plain.test.
\$TTL 300
@    SOA   ns.rw.test. hostmaster.rw.test. 1 3600 600 86400 300
@    NS    ns.rw.test.
@    MX    10 mx.plain.test.
@    TXT   "v=spf1 ip4:127.30.0.0/24 ~all"
mx   A     127.30.0.2
; a customer of mailprov.test that publishes nothing: mail apps find its servers through the MX
viamx MX   10 mx.mailprov.test.
ZONE
# A mail provider that publishes no settings: only its conventional names (imap., smtp.) exist, on
# dovecot and postfix submission.
cat > "$dns/mailprov.test.zone" <<ZONE
\$ORIGIN mailprov.test.
\$TTL 300
@    SOA   ns.rw.test. hostmaster.rw.test. 1 3600 600 86400 300
@    NS    ns.rw.test.
mx   A     127.30.0.2
imap A     127.30.1.2
smtp A     127.30.1.4
ZONE
# Reverse DNS of the MX addresses: .2, .3, .6-.8 confirm; .5 has a generic access-network name that
# does not resolve; .4 has no PTR.
cat > "$dns/30.127.in-addr.arpa.zone" <<ZONE
\$ORIGIN 30.127.in-addr.arpa.
\$TTL 300
@      SOA   ns.rw.test. hostmaster.rw.test. 1 3600 600 86400 300
@      NS    ns.rw.test.
2.0    PTR   mx-valid.rw.test.
3.0    PTR   mx-selfsigned.rw.test.
5.0    PTR   dsl-127-30-0-5.access.plain.test.
6.0    PTR   mx-nostarttls.rw.test.
7.0    PTR   mx-tls12.rw.test.
8.0    PTR   mx-postscreen.rw.test.
ZONE
(
    cd "$dns"
    ldns-keygen -a ECDSAP256SHA256 -k rw.test >rw.ksk && ldns-keygen -a ECDSAP256SHA256 rw.test >rw.zsk
    ldns-signzone -o rw.test. -f rw.test.zone.signed rw.test.zone "$(cat rw.zsk)" "$(cat rw.ksk)"
    ldns-key2ds -n -2 "$(cat rw.ksk).key" > rw.test.ds
    cat > root.zone <<ROOT
\$ORIGIN .
\$TTL 300
.            SOA   ns.root. hostmaster.root. 1 3600 600 86400 300
.            NS    ns.root.
ns.root.     A     $NS_IP
rw.test.     NS    ns.rw.test.
ns.rw.test.  A     $NS_IP
plain.test.  NS    ns.rw.test.
mailprov.test. NS  ns.rw.test.
30.127.in-addr.arpa. NS ns.rw.test.
ROOT
    cat rw.test.ds >> root.zone
    ldns-keygen -a ECDSAP256SHA256 -k . >root.ksk && ldns-keygen -a ECDSAP256SHA256 . >root.zsk
    ldns-signzone -o . -f root.zone.signed root.zone "$(cat root.zsk)" "$(cat root.ksk)"
)
# Break one signature: bogus.rw.test's MX now points elsewhere than what was signed.
sed -i -E 's/^(bogus\.rw\.test\.\s+[0-9]+\s+IN\s+MX\s+10\s+)mx-valid\.rw\.test\./\1mx-selfsigned.rw.test./' "$dns/rw.test.zone.signed"
grep -Eq "^bogus.*MX.*mx-selfsigned" "$dns/rw.test.zone.signed" || { echo "up.sh: could not tamper bogus.rw.test" >&2; exit 1; }
# The trust anchor is our root's KSK (zone-file line with a TTL), for unbound and --trust-anchor.
awk '{ print $1, 300, "IN", "DNSKEY", $4, $5, $6, $7 }' "$dns/$(cat "$dns/root.ksk").key" > "$RW_DIR/trust-anchor.txt"

cat > "$dns/nsd.conf" <<NSD
server:
    ip-address: $NS_IP
    port: 53
    username: ""
    zonesdir: "$dns"
    database: ""
    pidfile: "$dns/nsd.pid"
    logfile: "$dns/nsd.log"
    xfrdfile: "$dns/xfrd.state"
    zonelistfile: "$dns/zone.list"
    xfrdir: "$dns"
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "."
    zonefile: root.zone.signed
zone:
    name: rw.test
    zonefile: rw.test.zone.signed
zone:
    name: plain.test
    zonefile: plain.test.zone
zone:
    name: mailprov.test
    zonefile: mailprov.test.zone
zone:
    name: 30.127.in-addr.arpa
    zonefile: 30.127.in-addr.arpa.zone
NSD
nsd -c "$dns/nsd.conf"

cat > "$dns/root.hints" <<HINTS
.         3600000 NS ns.root.
ns.root.  3600000 A  $NS_IP
HINTS
cat > "$dns/unbound.conf" <<UNB
server:
    interface: $RESOLVER_IP
    port: 53
    username: ""
    chroot: ""
    directory: "$dns"
    pidfile: "$dns/unbound.pid"
    logfile: "$dns/unbound.log"
    use-syslog: no
    verbosity: 1
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "validator iterator"
    root-hints: "$dns/root.hints"
    trust-anchor-file: "$RW_DIR/trust-anchor.txt"
    local-zone: "test." nodefault
    local-zone: "127.in-addr.arpa." nodefault
    val-log-level: 2
    qname-minimisation: no
UNB
unbound -c "$dns/unbound.conf"

# ---- dovecot: IMAP and POP3 (STARTTLS/STLS and implicit TLS) on 127.30.1.2; on 127.30.1.3 the same
# with plaintext authentication allowed before TLS (the finding the client probe reports) ----
dv=$RW_DIR/dovecot
mkdir -p "$dv/run" "$dv/state"
cat > "$dv/dovecot.conf" <<DOVE
base_dir = $dv/run
state_dir = $dv/state
log_path = $dv/dovecot.log
protocols = imap pop3
listen = 127.30.1.2, 127.30.1.3
ssl = yes
ssl_cert = <$pki/imap.pem
ssl_key = <$pki/imap.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
passdb {
  driver = static
  args = password=not-used-by-the-scanner
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dv/home
}
mail_location = mbox:~/mail
default_login_user = dovenull
default_internal_user = dovecot
local 127.30.1.3 {
  disable_plaintext_auth = no
}
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 995
    ssl = yes
  }
}
service auth {
  unix_listener $dv/auth-client {
    mode = 0666
  }
}
DOVE
dovecot -c "$dv/dovecot.conf" </dev/null >>"$dv/dovecot.out" 2>&1

# ---- postfix: one smtpd per posture ----
pf=$RW_DIR/postfix
if [ ! -e /etc/postfix/.mailcensus-backup ]; then
    mkdir -p /etc/postfix/.mailcensus-backup
    cp -a /etc/postfix/main.cf /etc/postfix/master.cf /etc/postfix/.mailcensus-backup/ 2>/dev/null || true
fi
cat > /etc/postfix/main.cf <<MAIN
compatibility_level = 3.6
myhostname = mx.rw.test
mydestination =
inet_interfaces = all
inet_protocols = ipv4
maillog_file = $pf/postfix.log
maillog_file_prefixes = /var, /dev/stdout, $RW_DIR
smtpd_banner = \$myhostname ESMTP
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_tls_security_level = may
smtpd_tls_cert_file = $pki/valid.pem
smtpd_tls_key_file = $pki/valid.key
smtpd_tls_loglevel = 1
biff = no
MAIN
# The default master.cf minus its smtp listener, plus ours (no chroot: certificates live outside it).
master_src=/etc/postfix/.mailcensus-backup/master.cf
for candidate in "$master_src" /usr/share/postfix/master.cf.dist /etc/postfix/master.cf.proto; do
    [ -s "$candidate" ] && { master_src=$candidate; break; }
done
grep -v -E '^(smtp|submission|submissions)[[:space:]]+inet' "$master_src" > /etc/postfix/master.cf
cat >> /etc/postfix/master.cf <<MASTER
127.30.0.2:25 inet n - n - - smtpd -o syslog_name=rw-valid -o myhostname=mx-valid.rw.test
127.30.0.3:25 inet n - n - - smtpd -o syslog_name=rw-selfsigned -o myhostname=mx-selfsigned.rw.test -o smtpd_tls_cert_file=$pki/selfsigned.pem -o smtpd_tls_key_file=$pki/selfsigned.key
127.30.0.4:25 inet n - n - - smtpd -o syslog_name=rw-expired -o myhostname=mx-expired.rw.test -o smtpd_tls_cert_file=$pki/expired.pem -o smtpd_tls_key_file=$pki/expired.key
127.30.0.5:25 inet n - n - - smtpd -o syslog_name=rw-mismatch -o myhostname=mx-mismatch.rw.test -o smtpd_tls_cert_file=$pki/mismatch.pem -o smtpd_tls_key_file=$pki/mismatch.key
127.30.0.6:25 inet n - n - - smtpd -o syslog_name=rw-nostarttls -o myhostname=mx-nostarttls.rw.test -o smtpd_tls_security_level=none
127.30.0.7:25 inet n - n - - smtpd -o syslog_name=rw-tls12 -o myhostname=mx-tls12.rw.test -o smtpd_tls_cert_file=$pki/tls12.pem -o smtpd_tls_key_file=$pki/tls12.key -o smtpd_tls_protocols=!TLSv1.3
127.30.0.8:25 inet n - n - 1 postscreen -o syslog_name=rw-postscreen -o postscreen_greet_wait=2s -o postscreen_greet_ttl=1s -o postscreen_greet_action=enforce -o postscreen_access_list= -o myhostname=mx-postscreen.rw.test
smtpd pass - - n - - smtpd -o syslog_name=rw-postscreen -o myhostname=mx-postscreen.rw.test -o smtpd_tls_cert_file=$pki/postscreen.pem -o smtpd_tls_key_file=$pki/postscreen.key
127.30.1.4:587 inet n - n - - smtpd -o syslog_name=rw-submission -o myhostname=smtp-sub.rw.test -o smtpd_tls_cert_file=$pki/submit.pem -o smtpd_tls_key_file=$pki/submit.key -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=$RW_DIR/dovecot/auth-client -o smtpd_tls_auth_only=yes
127.30.1.4:465 inet n - n - - smtpd -o syslog_name=rw-submissions -o myhostname=smtp-sub.rw.test -o smtpd_tls_cert_file=$pki/submit.pem -o smtpd_tls_key_file=$pki/submit.key -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=$RW_DIR/dovecot/auth-client
127.30.1.5:587 inet n - n - - smtpd -o syslog_name=rw-submission-plain -o myhostname=smtp-plain.rw.test -o smtpd_tls_security_level=none -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=$RW_DIR/dovecot/auth-client -o smtpd_tls_auth_only=no
tlsproxy unix - - n - 0 tlsproxy
dnsblog unix - - n - 0 dnsblog
MASTER
# postscreen remembers clients that passed its greeting test: forget them, so the delay is seen.
rm -f /var/lib/postfix/postscreen_cache.*
postfix check
postfix start

# ---- HTTPS for BIMI: openssl's own small web server, serving $RW_DIR/www as bimi.rw.test ----
(
    cd "$www"
    nohup openssl s_server -quiet -WWW -accept 127.30.2.1:443 -cert "$pki/bimi.pem" -key "$pki/bimi.key" \
        </dev/null >"$RW_DIR/https.log" 2>&1 &
    echo $! > "$RW_DIR/https.pid"
)

# ---- wait until everything answers ----
for _ in $(seq 1 50); do
    ok=1
    for ip in 127.30.0.2 127.30.0.3 127.30.0.4 127.30.0.5 127.30.0.6 127.30.0.7 127.30.0.8; do
        (exec 3<>/dev/tcp/$ip/25) 2>/dev/null || ok=0
    done
    for ep in 127.30.1.2/143 127.30.1.2/993 127.30.1.3/110 127.30.1.4/587 127.30.1.4/465 127.30.1.5/587; do
        (exec 3<>/dev/tcp/$ep) 2>/dev/null || ok=0
    done
    (exec 3<>/dev/tcp/$RESOLVER_IP/53) 2>/dev/null || ok=0
    (exec 3<>/dev/tcp/127.30.2.1/443) 2>/dev/null || ok=0
    [ $ok = 1 ] && break
    sleep 0.2
done
[ $ok = 1 ] || { echo "up.sh: servers did not start; logs in $RW_DIR" >&2; exit 1; }

cat > "$RW_DIR/env" <<ENV
MAILCENSUS_REALWORLD=$RW_DIR
ENV
echo "real world up in $RW_DIR"
echo "scan it with: mailcensus scan INPUT --out OUT --resolver $RESOLVER_IP --trust-anchor $RW_DIR/trust-anchor.txt --ca-file $pki/ca.pem --bimi-ca-file $pki/mark-ca.pem --allow-private --ehlo-name scanner.rw.test"
