; vessel-payload: format=multiboot
; Memory-overhead benchmark: writes one dword in every 4 KiB page of TOUCH_MIB MiB of guest RAM
; starting at 4 MiB (so exactly that much guest RAM becomes resident besides the image), prints
; "ready" and then waits forever in a PAUSE loop. No HLT: without an interrupt controller a HLT
; ends the VM in vessel. The script reads the VMM's RSS from outside, then kills it.
; Needs guest RAM >= 4 MiB + TOUCH_MIB. Flat 32-bit protected mode, no paging.
%include "multiboot.inc"
bits 32

%ifndef TOUCH_MIB
%define TOUCH_MIB 32
%endif
TOUCH_BASE equ 0x400000

_start:
    mov esp, stack_top
    mov edi, TOUCH_BASE
    mov ecx, TOUCH_MIB * 256    ; pages
    jecxz .touched
.page:
    mov [edi], edi
    add edi, 4096
    loop .page
.touched:
    mov esi, msg_ready
    call puts32
.idle:
    pause
    jmp .idle

%include "console32.inc"

section .data
msg_ready: db "ready", 10, 0
