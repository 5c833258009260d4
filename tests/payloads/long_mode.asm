; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: protected mode: enabling long mode\n
; expect-output: Hello from long mode\n
; expect-output: efer.lme+lma=00000500 cs=0008\n
; expect-output: 64-bit product=0123456789abcdef\n
; Multiboot (32-bit protected mode) to 64-bit mode through PAE + 4-level paging + EFER.LME +
; CR0.PG and a far jump (SDM Vol. 3A §10.8.5); prints from 64-bit code.
%include "multiboot.inc"
%include "longmode.inc"
bits 32

_start:
    mov esp, stack_top
    mov esi, msg_pm
    call puts32
    ENTER_LONG_MODE long_main

bits 64
long_main:
    mov esi, msg_hello
    call puts64
    mov esi, msg_efer
    call puts64
    mov ecx, 0xc0000080
    rdmsr
    and eax, (1 << 8) | (1 << 10)   ; LME, LMA
    mov rcx, 8
    call puthex64
    mov esi, msg_cs
    call puts64
    mov ax, cs
    movzx rax, ax
    mov rcx, 4
    call puthex64
    mov esi, msg_product
    call puts64
    mov rax, 0x0123456789abcdef     ; 64-bit arithmetic: (x / 3) * 3 with x divisible by 3
    mov rbx, 3
    xor rdx, rdx
    div rbx
    imul rax, rbx
    mov rcx, 16
    call puthex64
    mov al, 10
    call putc64
    EXIT 0

%include "console32.inc"
%include "console64.inc"

section .data
msg_pm: db "protected mode: enabling long mode", 10, 0
msg_hello: db "Hello from long mode", 10, 0
msg_efer: db "efer.lme+lma=", 0
msg_cs: db " cs=", 0
msg_product: db 10, "64-bit product=", 0
