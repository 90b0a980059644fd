#!/usr/bin/env bash
# make run: the demo. A state directory under ./demo, a configuration whose
# windows are open all day, a generated extract dropped into the inbox, and
# the daemon in the foreground. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/leverance}
DEMO=${DEMO:-$PWD/demo}
HTTP=${DEMO_HTTP:-127.0.0.1:8080}
SFTP=${DEMO_SFTP:-127.0.0.1:2222}
CITIZENS=${DEMO_CITIZENS:-5000}

bold() { printf '\033[1m%s\033[0m\n' "$*"; }

mkdir -p "$DEMO/keys"
chmod 0750 "$DEMO"
# Vendor keys for fetching over the built-in SFTP server (needs ssh-keygen,
# from openssh-client; without it the outboxes are still filled, just not
# served).
ak() {
	if [ -f "$DEMO/keys/$1.pub" ] || ssh-keygen -q -t ed25519 -N '' -C "$1 (demo)" -f "$DEMO/keys/$1" 2>/dev/null; then
		echo "  authorized_keys = \"$DEMO/keys/$1.pub\""
	fi
}

cat > "$DEMO/leverance.toml" <<TOML
# The demo configuration: every day is a delivery day and the windows are
# open all day, so what lands in the inbox is published at once.
state_dir = "$DEMO/state"

[calendar]
delivery_days = "all-days"

[product.daglig-opdatering]
release = "00:00"
deadline = "23:58"
cutoff = "23:59"

[product.daglige-beskeder]
release = "00:00"
deadline = "23:58"
cutoff = "23:59"

[[vendor]]
name = "kmd-opera"
municipalities = ["101", "147", "151", "153"]
products = ["daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
$(ak kmd-opera)

[[vendor]]
name = "kmd-workbase"
municipalities = ["173", "175", "183"]
products = ["daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
$(ak kmd-workbase)

[[vendor]]
name = "schultz-fasit"
municipalities = ["*"]
products = ["daglig-opdatering"]
  [vendor.outbox]
  kind = "local"
$(ak schultz-fasit)

[sftp_server]
listen = "$SFTP"

[http]
listen = "$HTTP"
TOML

# Yesterday's extract gives today's daily products. The weekly product is
# made from a Sunday's extract for the Monday after: the demo also drops
# last Sunday's extract, and at its first start makes the service
# responsible from that Monday (run --since), so this week's weekly update
# is published on any weekday (late after Monday 19:00, as it would be).
# The daily products of Monday until yesterday had no extract in time:
# they are recorded udeladt.
export TZ=Europe/Copenhagen
yesterday=$(date -d yesterday +%Y-%m-%d)
sunday=$(date -d "yesterday -$(( ($(date -d yesterday +%u) % 7) )) days" +%Y-%m-%d)
mkdir -p "$DEMO/state/inbox"
extracts=()
for d in $(printf '%s\n' "$sunday" "$yesterday" | sort -u); do
	f="registreringer_${d//-/}.csv"
	if [ ! -e "$DEMO/$f" ]; then
		"$BIN" generate --citizens "$CITIZENS" --seed 1 --base "$sunday" --as-of "$d" --out "$DEMO/$f" >/dev/null
	fi
	extracts+=("$f")
done
name="registreringer_${yesterday//-/}.csv"
monday=$(date -d "$sunday +1 day" +%Y-%m-%d)

# How many of the generated citizens the products hold: those whose
# kontaktgruppe covers the as-of date (the rest have ended or not yet begun
# their kontaktforløb). schultz-fasit takes everyone's daglig-opdatering, one
# row per citizen in the snapshot; the daemon logs the same number as citizens=.
count=$(mktemp -d)
insnap=$("$BIN" compute -c "$DEMO/leverance.toml" --extract "$DEMO/$name" --out "$count" 2>/dev/null |
	awk -F'\t' '/^schultz-fasit\/daglig-opdatering/ { split($2, r, " "); print r[1] }')
rm -rf "$count"

# The built-in server's host keys, made now so that a vendor's first sftp
# can check them strictly: their fingerprints, and a known_hosts file.
"$BIN" hostkeys -c "$DEMO/leverance.toml" --create > "$DEMO/hostkeys.txt"
"$BIN" hostkeys -c "$DEMO/leverance.toml" --known-hosts "$SFTP" > "$DEMO/known_hosts"

bold "leverance demo"
cat <<TXT
  configuration   $DEMO/leverance.toml
  state directory $DEMO/state   (inbox/, archive/, staging/, outbox/<vendor>/, receipts/)
  status page     http://$HTTP/   (also /status.json and /metrics)
  extracts        ${extracts[*]}, dropped into the inbox in 2 seconds
  citizens        $CITIZENS generated; ${insnap:-?} of them have a kontaktgruppe on $yesterday and are in
                  the products (the daemon logs them as citizens=); the rest have left or not yet begun
  products        daglige-beskeder (kmd-opera, kmd-workbase) and daglig-opdatering (schultz-fasit) for today,
                  ugeopdatering (kmd-opera, kmd-workbase) for Monday $(date -d "$monday" +%d.%m.%y) from the extract of Sunday $sunday;
                  the service is responsible from that Monday: the daily products of the days before
                  today had no extract and show as udeladt

  SFTP host keys (SHA256 fingerprints; known_hosts in $DEMO/known_hosts):
$(sed 's/^/    /' "$DEMO/hostkeys.txt")

  Watch the files arrive:   ls -l $DEMO/state/outbox/*/
  Check a file:             cd $DEMO/state/outbox/kmd-opera && sha256sum -c *.sha256
  Verify the receipts log:  $BIN receipts verify -c $DEMO/leverance.toml
  The public status:        $BIN status -c $DEMO/leverance.toml
  Fetch as a vendor:        sftp -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$DEMO/known_hosts -o IdentitiesOnly=yes -P ${SFTP##*:} -i $DEMO/keys/kmd-opera kmd-opera@${SFTP%:*}

Ctrl-C stops the daemon.
TXT
echo

(
	sleep 2
	for f in "${extracts[@]}"; do
		if [ ! -e "$DEMO/state/archive/$f" ]; then
			cp "$DEMO/$f" "$DEMO/state/inbox/.$f.tmp"
			mv "$DEMO/state/inbox/.$f.tmp" "$DEMO/state/inbox/$f"
			bold ">>> dropped $f into the inbox"
			sleep 1
		fi
	done
) &
dropper=$!
trap 'kill $dropper 2>/dev/null || true' EXIT
"$BIN" run -c "$DEMO/leverance.toml" --since "$monday"
