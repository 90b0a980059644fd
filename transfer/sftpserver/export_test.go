package sftpserver

import (
	"crypto"
	"sync"
)

// Tests make many servers: they share one RSA host key (generating a
// 3072-bit key takes up to a second).
func init() {
	gen := generateRSA
	var once sync.Once
	var key crypto.Signer
	var err error
	generateRSA = func() (crypto.Signer, error) {
		once.Do(func() { key, err = gen() })
		return key, err
	}
}
