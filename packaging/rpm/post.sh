# leverance %post: the service user (sysusers), owners and modes
# (tmpfiles), systemd told about the units. Not enabled, not started: it
# needs a configuration first. $1 is 1 on install, 2 and more on upgrade.
systemd-sysusers leverance.conf || :
systemd-tmpfiles --create leverance.conf || :
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 2 ]; then
		systemctl try-restart leverance.service >/dev/null 2>&1 || :
	fi
fi
