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

yesterday=$(TZ=Europe/Copenhagen date -d yesterday +%Y-%m-%d)
name="registreringer_${yesterday//-/}.csv"
mkdir -p "$DEMO/state/inbox"
if [ ! -e "$DEMO/$name" ]; then
	"$BIN" generate --citizens "$CITIZENS" --seed 1 --as-of "$yesterday" --out "$DEMO/$name"
fi

bold "leverance demo"
cat <<TXT
  configuration   $DEMO/leverance.toml
  state directory $DEMO/state   (inbox/, archive/, staging/, outbox/<vendor>/, receipts/)
  status page     http://$HTTP/   (also /status.json and /metrics)
  extract         $name ($CITIZENS citizens), dropped into the inbox in 2 seconds

  Watch the files arrive:   ls -l $DEMO/state/outbox/*/
  Check a file:             cd $DEMO/state/outbox/kmd-opera && sha256sum -c *.sha256
  Verify the receipts log:  $BIN receipts verify -c $DEMO/leverance.toml
  The public status:        $BIN status -c $DEMO/leverance.toml
  Fetch as a vendor:        sftp -P ${SFTP##*:} -i $DEMO/keys/kmd-opera kmd-opera@${SFTP%:*}

Ctrl-C stops the daemon.
TXT
echo

(
	sleep 2
	if [ ! -e "$DEMO/state/archive/$name" ]; then
		cp "$DEMO/$name" "$DEMO/state/inbox/.$name.tmp"
		mv "$DEMO/state/inbox/.$name.tmp" "$DEMO/state/inbox/$name"
		bold ">>> dropped $name into the inbox"
	fi
) &
dropper=$!
trap 'kill $dropper 2>/dev/null || true' EXIT
"$BIN" run -c "$DEMO/leverance.toml"
