<?php
// PHP ssh2 (php-ssh2, libssh2) client driver; see README.md.
$op = $argv[1];
$a = $argv[2] ?? '';
$b = $argv[3] ?? '';
function fail($m) { fwrite(STDERR, "$m\n"); exit(1); }
$c = ssh2_connect(getenv('LV_HOST'), (int)getenv('LV_PORT'));
if (!$c) fail('connect failed');
$fp = 'sha1:' . strtolower(ssh2_fingerprint($c, SSH2_FINGERPRINT_SHA1 | SSH2_FINGERPRINT_HEX));
if (!in_array($fp, explode(',', getenv('LV_FPS')))) fail("host key not pinned: $fp");
if (!ssh2_auth_pubkey_file($c, getenv('LV_USER'), getenv('LV_PUB'), getenv('LV_KEY'))) fail('login refused');
$s = ssh2_sftp($c);
$base = 'ssh2.sftp://' . intval($s);
switch ($op) {
case 'ls':
	$d = opendir($base . $a) or fail('opendir');
	while (($n = readdir($d)) !== false) echo "$n\n";
	break;
case 'get':
case 'reget':
	$in = fopen($base . $a, 'r') or fail('open');
	if ($op == 'reget') {
		clearstatcache();
		fseek($in, filesize($b)) === 0 or fail('seek');
	}
	$out = fopen($b, $op == 'get' ? 'w' : 'a') or fail('local');
	stream_copy_to_stream($in, $out) !== false or fail('copy');
	fclose($in);
	fclose($out);
	break;
case 'rm':
	ssh2_sftp_unlink($s, $a) or fail('unlink');
	break;
case 'put':
	$out = @fopen($base . $b, 'w') or fail('upload refused');
	fwrite($out, file_get_contents($a)) !== false or fail('write');
	fclose($out) or fail('close');
	break;
}
