; vessel-payload: format=flat
; expect-exit: 1
; expect-output: Hello from real mode\n
; The smallest payload: a boot sector printing one line on COM1 from real mode.
bits 16
org 0x7c00
%include "common.inc"

start:
    FLAT_PROLOGUE
    mov si, hello
    call puts16
    EXIT 0

%include "console16.inc"

hello: db "Hello from real mode", 10, 0

BOOT_SIGNATURE
