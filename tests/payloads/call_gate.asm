; vessel-payload: format=multiboot
; expect-exit: 1
; pvm-skip: ring-0 protected-mode code goes through KVM's instruction emulator there
; expect-output: gate: cs ss depth p0 p1 old-ss old-depth: 0008 0010 0018 1111 2222 0023 0008\n
; expect-output: back: cs depth: 001b 0000\n
; expect-output: gate, 16-bit TSS: ss depth p0 p1 old-ss old-depth: 0040 0018 3333 4444 0023 0008\n
; A far CALL from ring 3 through a 32-bit call gate with two dword parameters (SDM Vol. 3A
; §5.8.5-5.8.6): the gate's ring-0 entry records its CS, SS, how far below ESP0 its ESP is
; (SS, ESP, 2 parameters, CS, EIP = 24 bytes), the copied parameters and the caller's SS:ESP,
; then RETF 8 returns to ring 3, dropping the parameters on both stacks. Ring 3 runs with
; IOPL 3 so that it can print. Then a second gate (0x48) lets ring 0 load TR with a 16-bit
; TSS, and the same call takes its inner stack from that TSS's SS0:SP0 (offsets 4 and 2).
%include "multiboot.inc"
%include "gdt32.inc"
bits 32

SP0_16 equ 0x0ff0                   ; the 16-bit TSS's SP0, an offset into stack16

_start:
    LOAD_FLAT_GDT
    mov esp, stack_top
    mov dword [tss + 4], stack_top  ; ESP0
    mov dword [tss + 8], 0x10       ; SS0
    mov eax, tss                    ; TSS descriptor base
    mov [gdt.tss + 2], ax
    shr eax, 16
    mov [gdt.tss + 4], al
    mov [gdt.tss + 7], ah
    mov eax, kernel_entry           ; call gate offset
    mov [gdt.gate], ax
    shr eax, 16
    mov [gdt.gate + 6], ax
    mov eax, switch_tr
    mov [gdt.gate_tr], ax
    shr eax, 16
    mov [gdt.gate_tr + 6], ax
    mov word [tss16 + 2], SP0_16    ; SP0
    mov word [tss16 + 4], 0x40      ; SS0
    mov eax, tss16
    mov edi, gdt.tss16
    call set_base
    mov eax, stack16
    mov edi, gdt.stack16
    call set_base
    mov ax, 0x28
    ltr ax
    push 0x23                       ; SS
    push user_stack_top             ; ESP
    push 0x3002                     ; EFLAGS: IOPL 3
    push 0x1b                       ; CS
    push user_main                  ; EIP
    iretd

user_main:
    mov ax, 0x23                    ; IRET to ring 3 nulled DS and ES (DPL 0)
    mov ds, ax
    mov es, ax
    push 0x2222
    push 0x1111
    call 0x33:0                     ; the gate: the offset is ignored
    mov esi, msg_gate
    call puts32
    mov eax, [r_cs]
    call hex4
    mov eax, [r_ss]
    call hex4
    mov eax, [r_depth]
    call hex4
    call print_params
    mov esi, msg_back
    call puts32
    mov eax, cs
    call hex4
    mov eax, user_stack_top
    sub eax, esp
    call hex4
    mov al, 10
    call putc32

    call 0x4b:0                     ; ring 0: TR becomes the 16-bit TSS
    push 0x4444
    push 0x3333
    call 0x33:0
    mov esi, msg_gate16
    call puts32
    mov eax, [r_ss]
    call hex4
    mov eax, SP0_16
    sub eax, [r_esp]
    call hex4
    call print_params
    EXIT 0

; The rest of a "gate" line: the copied parameters, the caller's SS and how far below its
; stack top the caller's ESP was.
print_params:
    mov eax, [r_p0]
    call hex4
    mov eax, [r_p1]
    call hex4
    mov eax, [r_old_ss]
    call hex4
    mov eax, [r_old_esp]
    sub eax, user_stack_top
    neg eax
    call hex4
    mov al, 10
    jmp putc32

SET_BASE_ROUTINE

switch_tr:
    mov ax, 0x38
    ltr ax
    retf

kernel_entry:
    mov [r_cs], cs
    mov [r_ss], ss
    mov [r_esp], esp
    mov eax, stack_top
    sub eax, esp
    mov [r_depth], eax
    mov eax, [esp + 8]
    mov [r_p0], eax
    mov eax, [esp + 12]
    mov [r_p1], eax
    mov eax, [esp + 16]
    mov [r_old_esp], eax
    mov eax, [esp + 20]
    mov [r_old_ss], eax
    retf 8

%include "console32.inc"

section .data
align 8
gdt:
    FLAT_GDT_DESCRIPTORS 3
.tss:
    dw 103, 0
    db 0, 0x89, 0, 0                ; present 32-bit TSS
.gate:
    dw 0, 0x08                      ; offset 15:0 (filled in), target selector
    db 2, 0xec                      ; 2 dword parameters; present, DPL 3, 32-bit call gate
    dw 0                            ; offset 31:16 (filled in)
.tss16:
    dw 43, 0
    db 0, 0x81, 0, 0                ; 0x38: present 16-bit TSS (base filled in)
.stack16:
    dw 0xffff, 0
    db 0, 0x92, 0x40, 0             ; 0x40: data, DPL 0, 32-bit, 64 KiB at stack16
.gate_tr:
    dw 0, 0x08
    db 0, 0xec                      ; 0x48: no parameters, DPL 3, 32-bit call gate
    dw 0
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt
r_cs: dd 0
r_ss: dd 0
r_depth: dd 0
r_p0: dd 0
r_p1: dd 0
r_old_esp: dd 0
r_old_ss: dd 0
r_esp: dd 0
msg_gate: db "gate: cs ss depth p0 p1 old-ss old-depth:", 0
msg_back: db "back: cs depth:", 0
msg_gate16: db "gate, 16-bit TSS: ss depth p0 p1 old-ss old-depth:", 0

section .bss
alignb 16
tss: resb 104
tss16: resb 44
alignb 16
stack16: resb 4096
alignb 16
    resb 4096
user_stack_top:
