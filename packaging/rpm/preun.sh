# leverance %preun: erasing ($1 = 0) stops the service and its socket.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
	systemctl --no-reload disable --now leverance.socket leverance.service >/dev/null 2>&1 || :
fi
