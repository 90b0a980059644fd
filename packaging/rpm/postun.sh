# leverance %postun: systemd forgets the removed units. The state directory
# /var/lib/leverance (keys, receipts log) is not the package's and stays.
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || :
fi
