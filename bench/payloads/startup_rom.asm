; vessel-payload: format=rom
; Start-up benchmark, QEMU without firmware: a 64 KiB image for `qemu -bios` whose reset vector
; (physical 0xfffffff0, the last 16 bytes of the ROM; SDM Vol. 3A §10.1.4 "First Instruction
; Executed") exits through the debug-exit port at once. It puts QEMU on the same footing as
; vessel, which starts the guest at its entry point with no firmware at all.
bits 16
%include "common.inc"

    times 0xfff0 db 0xff
reset_vector:
    mov al, 0
    out DEBUG_EXIT_PORT, al
.hang:
    cli
    hlt
    jmp .hang
    times 0x10000 - ($ - $$) db 0xff
