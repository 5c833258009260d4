; vessel-payload: format=flat
; expect-exit: 1
; expect-output: scratch after 5a: 5a\n
; expect-output: scratch after a5: a5\n
; expect-output: unclaimed port 02f0 byte: ff\n
; expect-output: unclaimed port 02f0 word: ffff\n
; Port I/O: the UART's scratch register (16550A data sheet: SCR, offset 7) keeps what is
; written; a read of a port no device claims returns all ones (an ISA bus with no driver).
; 0x2f0 is free on the PC and on QEMU's -M pc (COM2 starts at 0x2f8).
bits 16
org 0x7c00
%include "common.inc"

start:
    FLAT_PROLOGUE
    mov bl, 0x5a
    call scratch_test
    mov bl, 0xa5
    call scratch_test

    mov si, msg_unclaimed
    call puts16
    mov dx, 0x2f0
    in al, dx
    mov cx, 2
    call puthex16
    mov si, msg_word
    call puts16
    in ax, dx
    mov cx, 4
    call puthex16
    mov al, 10
    call putc16
    EXIT 0

; BL = value to write to the scratch register; prints what reads back.
scratch_test:
    mov si, msg_scratch
    call puts16
    mov al, bl
    mov cx, 2
    call puthex16
    mov si, msg_colon
    call puts16
    mov dx, UART_SCR
    mov al, bl
    out dx, al
    xor al, al
    in al, dx
    call puthex16
    mov al, 10
    call putc16
    ret

%include "console16.inc"

msg_scratch: db "scratch after ", 0
msg_colon: db ": ", 0
msg_unclaimed: db "unclaimed port 02f0 byte: ", 0
msg_word: db 10, "unclaimed port 02f0 word: ", 0

BOOT_SIGNATURE
