; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: other block=0000008e\n
; expect-output: same block=00000037\n
; Self-modifying code, run often enough for a translator to have translated it (SDM Vol. 3A
; §11.6): a loop rewrites the immediate of a function in another block after each call, and a
; second loop rewrites an instruction a few bytes ahead of the store, in the block that is
; running. Every later execution must see the new bytes.
%include "multiboot.inc"
%include "longmode.inc"
bits 32

_start:
    mov esp, stack_top
    ENTER_LONG_MODE long_main

bits 64
long_main:
    ; Other block: patchme returns 7 first, then 3 * (i - 1) on call i (i = 2..10).
    xor r8d, r8d
    mov ecx, 1
.other:
    call patchme
    add r8, rax
    lea eax, [rcx + rcx * 2]
    mov dword [rel patchme + 1], eax
    inc ecx
    cmp ecx, 10
    jbe .other
    mov esi, msg_other
    call puts64
    mov rax, r8
    push rcx
    mov rcx, 8
    call puthex64
    pop rcx
    mov al, 10
    call putc64

    ; Same block: "mov al, 0" gets the loop counter as its immediate just before it runs.
    xor r9d, r9d
    mov ecx, 1
.same:
    mov byte [rel .imm + 1], cl
.imm:
    mov al, 0
    movzx eax, al
    add r9, rax
    inc ecx
    cmp ecx, 10
    jbe .same
    mov esi, msg_same
    call puts64
    mov rax, r9
    mov rcx, 8
    call puthex64
    mov al, 10
    call putc64
    EXIT 0

patchme:
    mov eax, 7
    ret

%include "console32.inc"
%include "console64.inc"

section .data
msg_other: db "other block=", 0
msg_same: db "same block=", 0
