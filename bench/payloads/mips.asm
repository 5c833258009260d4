; vessel-payload: format=multiboot
; CPU-throughput benchmark: integer work plus memory traffic through 4-level paging with 4 KiB
; pages, at CPL 3 (IOPL = 3, so ring 3 prints its own result). Each round
;   fill: x = x * A + C (a 64-bit LCG, Knuth's MMIX constants); buf[i] = x   for i in [0, N)
;   sum:  x = x * A + C; s = rol(s + buf[(x >> 40) & (N - 1)], 5)             N times
; over a 4 MiB buffer (N = 512 Ki qwords at 4 MiB, 1024 pages: more than a TLB holds, so the
; random reads of the sum loop walk the page tables often). Prints "checksum=<s>" and exits
; with status 1. Every engine must print the same checksum for the same ROUNDS.
; Instructions retired, counted from the loop structure below (the script uses this formula):
;   per round: 1 (xor) + 6 N (fill) + 1 (mov) + 9 N (sum) + 2 (dec, jnz) = 15 N + 4
; Build with -DROUNDS=r; the script runs two round counts and takes the slope, so set-up,
; printing and VMM start-up cancel out.
%include "multiboot.inc"
%include "longmode.inc"
bits 32

%ifndef ROUNDS
%define ROUNDS 1
%endif
N          equ 512 * 1024
BUF        equ 0x400000         ; 4 MiB .. 8 MiB
LCG_A      equ 6364136223846793005
LCG_C      equ 1442695040888963407

_start:
    mov esp, stack_top
    ENTER_LONG_MODE long_main

bits 64
%include "ring3.inc"

section .bss
align 4096
more_pts: resb 3 * 4096         ; page tables for 2 MiB .. 8 MiB (pd[1..3])

section .text
long_main:
    ; pd[1 + j] -> more_pts[j]; every PTE maps the identical physical page, 4 KiB each.
    mov edi, more_pts
    mov eax, 0x200000 + PTE_P + PTE_W
    mov ecx, 3 * 512
.pte:
    mov [rdi], rax
    add eax, 4096
    add rdi, 8
    dec ecx
    jnz .pte
    mov eax, more_pts + PTE_P + PTE_W
    mov [pd + 8], rax
    add eax, 4096
    mov [pd + 16], rax
    add eax, 4096
    mov [pd + 24], rax

    mov edi, pml4
    mov ecx, 512
    call ring3_mark_user
    mov edi, pdpt
    call ring3_mark_user
    mov edi, pd
    call ring3_mark_user
    mov edi, pt
    call ring3_mark_user
    mov edi, more_pts
    mov ecx, 3 * 512
    call ring3_mark_user
    ENTER_RING3 bench

bench:
    mov rbx, LCG_A
    mov rcx, LCG_C
    mov edi, BUF
    mov edx, N
    xor eax, eax                ; x
    xor r9d, r9d                ; s
    mov r10d, ROUNDS
.round:
    xor esi, esi
.fill:
    imul rax, rbx
    add rax, rcx
    mov [rdi + rsi * 8], rax
    inc rsi
    cmp rsi, rdx
    jne .fill
    mov esi, edx
.sum:
    imul rax, rbx
    add rax, rcx
    mov r8, rax
    shr r8, 40
    and r8d, N - 1
    add r9, [rdi + r8 * 8]
    rol r9, 5
    dec rsi
    jnz .sum
    dec r10d
    jnz .round

    mov esi, msg_sum
    call puts64
    mov rax, r9
    mov ecx, 16
    call puthex64
    mov al, 10
    call putc64
    EXIT 0

%include "console64.inc"

section .data
msg_sum: db "checksum=", 0
