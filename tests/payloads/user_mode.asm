; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: entering ring 3\n
; expect-output: exception 0e error=00000005 cr2=0000000000182008\n
; expect-output: exception 0e error=00000007 cr2=0000000000181000\n
; expect-output: exception 0e error=00000004 cr2=0000000000180000\n
; expect-output: exception 0d error=00000000\n
; expect-output: exception 0d error=00000000\n
; expect-output: exception 06 error=00000000\n
; expect-output: back in ring 0: cs=0008\n
; Faults from ring 3 (CPL 3) in 64-bit mode: #PF with U/S = 1 in the error code (SDM Vol. 3A
; §4.7) for a supervisor-only page (P=1), a read-only user page written (P=1, W=1) and a
; not-present page (P=0); #GP(0) for HLT and for IN with IOPL 0 and no I/O bitmap
; (§20.5 / §6.15); then a ud2 whose handler resumes in ring 0. The TSS supplies RSP0 for the
; privilege change (§8.7). Ring 3 cannot print: the handler's lines are the output.
%include "multiboot.inc"
%include "longmode.inc"
bits 32

NOT_PRESENT equ 0x180000
READ_ONLY   equ 0x181000
SUPERVISOR  equ 0x182000

_start:
    mov esp, stack_top
    ENTER_LONG_MODE long_main

bits 64
%include "idt64.inc"
%include "user64.inc"

long_main:
    call idt64_install
    USER_PAGES
    mov qword [pt + 8 * (NOT_PRESENT >> 12)], 0
    mov qword [pt + 8 * (READ_ONLY >> 12)], READ_ONLY + PTE_P + PTE_US
    mov qword [pt + 8 * (SUPERVISOR >> 12)], SUPERVISOR + PTE_P + PTE_W
    mov rax, cr3
    mov cr3, rax                    ; flush the TLB

    mov esi, msg_enter
    call puts64
    ENTER_USER64 user_main

user_main:
    EXPECT_FAULT .a1
    mov rax, [SUPERVISOR + 8]
.a1:
    EXPECT_FAULT .a2
    mov dword [READ_ONLY], 1
.a2:
    EXPECT_FAULT .a3
    mov rax, [NOT_PRESENT]
.a3:
    EXPECT_FAULT .a4
    hlt
.a4:
    EXPECT_FAULT .a5
    in al, 0x80
.a5:
    EXPECT_FAULT_TO_KERNEL kernel_again
    ud2

kernel_again:
    mov esp, stack_top
    mov esi, msg_back
    call puts64
    mov ax, cs
    movzx rax, ax
    mov rcx, 4
    call puthex64
    mov al, 10
    call putc64
    EXIT 0

%include "console64.inc"

section .data
align 8
msg_enter: db "entering ring 3", 10, 0
msg_back: db "back in ring 0: cs=", 0

section .bss
alignb 16
