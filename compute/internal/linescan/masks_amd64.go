package linescan

import "golang.org/x/sys/cpu"

// buildMasks fills semi, nl and high for data (64·len(semi) bytes).
func buildMasks(data []byte, semi, nl, high []uint64) {
	if len(semi) == 0 {
		return
	}
	if useAVX2 {
		masksAVX2(&data[0], len(semi), &semi[0], &nl[0], &high[0])
		return
	}
	masksGo(data, semi, nl, high)
}

var useAVX2 = cpu.X86.HasAVX2

// masksAVX2 is buildMasks for n blocks of 64 bytes, with AVX2.
//
//go:noescape
func masksAVX2(data *byte, n int, semi, nl, high *uint64)
