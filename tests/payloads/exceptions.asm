; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: #DE: div by zero\n
; expect-output: exception 00 error=00000000\n
; expect-output: #UD: ud2\n
; expect-output: exception 06 error=00000000\n
; expect-output: #GP: non-canonical read\n
; expect-output: exception 0d error=00000000\n
; expect-output: #GP: selector beyond the GDT limit\n
; expect-output: exception 0d error=00001230\n
; expect-output: all exceptions handled\n
; Exceptions taken through the payload's own 64-bit IDT (SDM Vol. 3A §6.14, Table 6-1), each
; resumed after the faulting instruction. No INT3/INT n: under PVM KVM guest ring 0 runs
; through KVM's instruction emulator, which delivers software interrupts in real mode only.
%include "start64.inc"

long_main:
    call idt64_install

    mov esi, msg_de
    call puts64
    EXPECT_FAULT .after_de
    xor edx, edx
    xor ecx, ecx
    mov eax, 1
    div ecx                         ; #DE: divisor 0 (a fault: RIP points at the div)
.after_de:

    mov esi, msg_ud
    call puts64
    EXPECT_FAULT .after_ud
    ud2
.after_ud:

    mov esi, msg_gp_canonical
    call puts64
    EXPECT_FAULT .after_gp1
    mov rbx, 0x8000000000000000     ; bits 63:47 not all equal: non-canonical
    mov rax, [rbx]                  ; #GP(0) (SDM Vol. 3A §6.15, interrupt 13)
.after_gp1:

    mov esi, msg_gp_selector
    call puts64
    EXPECT_FAULT .after_gp2
    mov ax, 0x1230                  ; GDT index 0x246, far past the 3-entry GDT
    mov ds, ax                      ; #GP(selector): error code = the selector's index + TI
.after_gp2:
    mov ax, 0x10
    mov ds, ax

    mov esi, msg_done
    call puts64
    EXIT 0

%include "console64.inc"

section .data
msg_de: db "#DE: div by zero", 10, 0
msg_ud: db "#UD: ud2", 10, 0
msg_gp_canonical: db "#GP: non-canonical read", 10, 0
msg_gp_selector: db "#GP: selector beyond the GDT limit", 10, 0
msg_done: db "all exceptions handled", 10, 0
