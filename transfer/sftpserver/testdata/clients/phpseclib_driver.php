<?php
// phpseclib 3 (php-phpseclib3) client driver; see README.md.
require '/usr/share/php/phpseclib3/autoload.php';
use phpseclib3\Net\SFTP;
use phpseclib3\Crypt\PublicKeyLoader;
$op = $argv[1];
$a = $argv[2] ?? '';
$b = $argv[3] ?? '';
function fail($m) { fwrite(STDERR, "$m\n"); exit(1); }
$s = new SFTP(getenv('LV_HOST'), (int)getenv('LV_PORT'), 10);
$hk = explode(' ', $s->getServerPublicHostKey());
$fp = 'SHA256:' . rtrim(base64_encode(hash('sha256', base64_decode($hk[1]), true)), '=');
if (!in_array($fp, explode(',', getenv('LV_FPS')))) fail("host key not pinned: $fp");
if (!$s->login(getenv('LV_USER'), PublicKeyLoader::load(file_get_contents(getenv('LV_KEY'))))) fail('login refused');
switch ($op) {
case 'ls':
	$l = $s->nlist($a);
	if ($l === false) fail('nlist');
	echo implode("\n", $l), "\n";
	break;
case 'get':
	$s->get($a, $b) !== false or fail('get');
	break;
case 'reget':
	clearstatcache();
	$off = filesize($b);
	$fp = fopen($b, 'ab');
	$s->get($a, $fp, $off) !== false or fail('get');
	fclose($fp);
	break;
case 'rm':
	$s->delete($a, false) or fail('delete');
	break;
case 'put':
	$s->put($b, $a, SFTP::SOURCE_LOCAL_FILE) or fail('upload refused');
	break;
}
