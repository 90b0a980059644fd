#include "textflag.h"

// func masksAVX2(data *byte, n int, semi, nl, high *uint64)
// For each of n blocks of 64 bytes: the bitmap of its ';' bytes, of its
// '\n' bytes and of its bytes ≥ 0x80 (bit i for byte i).
TEXT ·masksAVX2(SB), NOSPLIT, $0-40
	MOVQ data+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ semi+16(FP), DI
	MOVQ nl+24(FP), R8
	MOVQ high+32(FP), R9
	MOVQ $0x3b, AX
	MOVQ AX, X4
	VPBROADCASTB X4, Y4
	MOVQ $0x0a, AX
	MOVQ AX, X5
	VPBROADCASTB X5, Y5
	TESTQ CX, CX
	JZ done

loop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	VPCMPEQB Y0, Y4, Y2
	VPCMPEQB Y1, Y4, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, (DI)

	VPCMPEQB Y0, Y5, Y2
	VPCMPEQB Y1, Y5, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, (R8)

	VPMOVMSKB Y0, AX
	VPMOVMSKB Y1, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, (R9)

	ADDQ $64, SI
	ADDQ $8, DI
	ADDQ $8, R8
	ADDQ $8, R9
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET
