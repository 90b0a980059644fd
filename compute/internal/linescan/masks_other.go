//go:build !amd64

package linescan

// buildMasks fills semi, nl and high for data (64·len(semi) bytes).
func buildMasks(data []byte, semi, nl, high []uint64) { masksGo(data, semi, nl, high) }
