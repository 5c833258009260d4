; vessel-payload: format=flat
; Start-up benchmark: the payload's first instruction (after loading AL) ends the VM through
; the debug-exit port, so a whole `vessel run` measures process start to first guest
; instruction, plus tear-down. A boot sector, so QEMU can boot it from a disk via SeaBIOS.
bits 16
org 0x7c00
%include "common.inc"

    mov al, 0
    out DEBUG_EXIT_PORT, al
.hang:
    cli
    hlt
    jmp .hang

BOOT_SIGNATURE
