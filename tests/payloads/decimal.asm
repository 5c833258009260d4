; vessel-payload: format=multiboot
; expect-exit: 1
; pvm-skip: KVM's instruction emulator has no DAA/AAA/BOUND/... for ring 0
; expect-output: daa: 0000:44 0009:04 0010:10 0015:10 0079:01 0099:84 0000:55 0000:45 0060:15 00cc:95 00a2:81 000b:10 0065:15 00c0:85 0005:15\n
; expect-output: das: 0000:44 0009:04 0004:10 0009:14 00b9:81 0099:84 0034:11 0040:01 0094:91 0000:55 00e2:85 00ff:95 0099:95 0000:45 0039:15\n
; expect-output: aaa: 0000:00 0109:00 0300:11 0405:11 0409:00 0609:11 0001:11 080b:11 0800:00\n
; expect-output: aas: 0000:00 0109:00 0104:11 0209:11 0409:00 0400:11 ff05:11 0602:11 0800:00\n
; expect-output: aam: 0000:44 0009:04 0909:04 1905:04 0009:04 0005:04 0c08:00 0502:00\n
; expect-output: aam16: 0000:44 0009:04 0603:04 0f0f:04 0009:04 0005:04 0800:44 0304:00\n
; expect-output: aad: 0000:44 0009:04 0063:04 00ff:84 004f:00 005f:04 0076:00 00e8:84\n
; expect-output: aad7: 0000:44 0009:04 0063:04 00ff:84 003a:04 0044:04 0079:00 00b2:84\n
; expect-output: salc: 0000:02 0000:02 0000:02 0000:12 00ff:03 0000:02 0000:02 0000:02 00ff:13 00ff:13 00ff:03 0000:12 0000:02 00ff:03 0000:12\n
; expect-output: xlat: 11223365\n
; expect-output: bound/aam 0: #05 #00 1234\n
; expect-output: into: #04\n
; Legacy 32-bit instructions in protected mode (SDM Vol. 2 DAA, DAS, AAA, AAS, AAM, AAD, XLAT,
; BOUND, SALC, INTO): each adjustment over a table of inputs (AL or AX, and CF/AF going in),
; printed as result:flags with only the flags the SDM defines for it. Inputs avoid AAA with
; AL >= FAh and AAS with AL < 6 when it adjusts: there the SDM's AX +/- 106h and older CPUs'
; (and QEMU's) AL-only arithmetic differ. Then AAM 0 (#DE) and BOUND out of range (#BR)
; through a 32-bit IDT whose handlers print the vector and resume.
%include "multiboot.inc"
%include "gdt32.inc"
bits 32

FL_CF equ 0x01
FL_PF equ 0x04
FL_AF equ 0x10
FL_ZF equ 0x40
FL_SF equ 0x80

; RUN_TABLE insn, mask, table: for each word of the table (low byte AL or, for the AX forms,
; the whole word; bit 8 = CF in, bit 12 = AF in for the byte forms), prints " RRRR:FF".
%macro RUN_TABLE 4      ; name, instruction bytes macro, flag mask, table
    mov esi, %%name
    call puts32
    mov ebx, %4
%%next:
    movzx eax, word [ebx]
    cmp ax, 0xffff
    je %%done
    movzx edx, word [ebx + 2]   ; flags in
    push edx
    popfd
    %2
    pushfd
    pop edx
    push eax
    mov al, ' '
    call putc32
    pop eax
    mov ecx, 4
    call puthex32
    mov al, ':'
    call putc32
    mov eax, edx
    and eax, %3
    mov ecx, 2
    call puthex32
    add ebx, 4
    jmp %%next
%%name: db %1, ":", 0
%%done:
    mov al, 10
    call putc32
%endmacro

%macro I_DAA 0
    daa
%endmacro
%macro I_DAS 0
    das
%endmacro
%macro I_AAA 0
    aaa
%endmacro
%macro I_AAS 0
    aas
%endmacro
%macro I_AAM 0
    aam
%endmacro
%macro I_AAM16 0
    aam 16
%endmacro
%macro I_AAD 0
    aad
%endmacro
%macro I_AAD7 0
    aad 7
%endmacro
%macro I_SALC 0
    db 0xd6
%endmacro

_start:
    mov esp, stack_top
    LOAD_FLAT_GDT
    call idt32_install

    RUN_TABLE "daa", I_DAA, FL_CF | FL_AF | FL_ZF | FL_SF | FL_PF, byte_inputs
    RUN_TABLE "das", I_DAS, FL_CF | FL_AF | FL_ZF | FL_SF | FL_PF, byte_inputs
    RUN_TABLE "aaa", I_AAA, FL_CF | FL_AF, aaa_inputs
    RUN_TABLE "aas", I_AAS, FL_CF | FL_AF, aas_inputs
    RUN_TABLE "aam", I_AAM, FL_ZF | FL_SF | FL_PF, word_inputs
    RUN_TABLE "aam16", I_AAM16, FL_ZF | FL_SF | FL_PF, word_inputs
    RUN_TABLE "aad", I_AAD, FL_ZF | FL_SF | FL_PF, word_inputs
    RUN_TABLE "aad7", I_AAD7, FL_ZF | FL_SF | FL_PF, word_inputs
    RUN_TABLE "salc", I_SALC, 0xff, byte_inputs

    mov esi, msg_xlat
    call puts32
    mov al, ' '
    call putc32
    mov ebx, xlat_table
    mov eax, 0x11223305
    xlatb
    mov ecx, 8
    call puthex32
    mov al, 10
    call putc32

    mov esi, msg_bound
    call puts32
    mov eax, -3
    bound eax, [bounds]         ; in range
    mov eax, 100
    bound eax, [bounds]         ; the upper bound itself: in range
    mov dword [resume_eip], .after_bound
    mov eax, 101
    bound eax, [bounds]         ; #BR, a fault: resumes at .after_bound
.after_bound:
    mov dword [resume_eip], .after_aam
    mov ax, 0x1234
    aam 0                       ; #DE
.after_aam:
    push eax
    mov al, ' '
    call putc32
    pop eax
    mov ecx, 4
    call puthex32               ; AX unchanged by the faulting AAM
    mov al, 10
    call putc32

    mov esi, msg_into
    call puts32
    mov al, 0x40
    add al, 0x10                ; no overflow: INTO does nothing
    into
    mov dword [resume_eip], .after_into
    mov al, 0x40
    add al, 0x40                ; overflow: #OF, a trap after INTO
    into
.after_into:
    mov al, 10
    call putc32
    EXIT 0

; A 32-bit IDT for vectors 0-7: each handler prints " #VV" and continues at [resume_eip].
idt32_install:
    xor ecx, ecx
.gate:
    mov eax, [isr_table + ecx * 4]
    mov [idt32 + ecx * 8], ax
    mov word [idt32 + ecx * 8 + 2], 0x08
    mov word [idt32 + ecx * 8 + 4], 0x8e00  ; present, DPL 0, 32-bit interrupt gate
    shr eax, 16
    mov [idt32 + ecx * 8 + 6], ax
    inc ecx
    cmp ecx, 8
    jb .gate
    lidt [idt32_ptr]
    ret

%assign v 0
%rep 8
isr_ %+ v:
    push v
    jmp isr_common
%assign v v + 1
%endrep

isr_common:                     ; stack: vector, EIP, CS, EFLAGS
    push eax
    push ecx
    mov al, ' '
    call putc32
    mov al, '#'
    call putc32
    mov eax, [esp + 8]
    mov ecx, 2
    call puthex32
    mov eax, [resume_eip]
    mov [esp + 12], eax         ; return to resume_eip (no error code for vectors 0-7)
    pop ecx
    pop eax
    add esp, 4
    iretd

%include "console32.inc"

section .data
align 8
gdt:
    FLAT_GDT_DESCRIPTORS 0
gdt_ptr:
    dw gdt_ptr - gdt - 1
    dd gdt
idt32_ptr:
    dw 8 * 8 - 1
    dd idt32
isr_table:
%assign v 0
%rep 8
    dd isr_ %+ v
%assign v v + 1
%endrep
resume_eip: dd 0
bounds: dd -5, 100
xlat_table: db 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76
msg_xlat: db "xlat:", 0
msg_bound: db "bound/aam 0:", 0
msg_into: db "into:", 0

; word AL (or AX), word EFLAGS going in; 0xffff ends a table.
byte_inputs:
    dw 0x00, 0x002, 0x09, 0x002, 0x0a, 0x002, 0x0f, 0x012, 0x19, 0x003, 0x99, 0x002
    dw 0x9a, 0x002, 0xa0, 0x002, 0xfa, 0x013, 0x66, 0x011, 0x42, 0x003, 0x05, 0x012
    dw 0xff, 0x002, 0x60, 0x003, 0x9f, 0x012
    dw 0xffff, 0
aaa_inputs:
    dw 0x0000, 0x002, 0x0109, 0x002, 0x020a, 0x002, 0x030f, 0x012, 0x04f9, 0x002
    dw 0x0513, 0x012, 0xff0b, 0x002, 0x07f5, 0x012, 0x0880, 0x003
    dw 0xffff, 0
aas_inputs:
    dw 0x0000, 0x002, 0x0109, 0x002, 0x020a, 0x002, 0x030f, 0x012, 0x04f9, 0x002
    dw 0x0516, 0x012, 0x000b, 0x002, 0x07f8, 0x012, 0x0880, 0x003
    dw 0xffff, 0
word_inputs:
    dw 0x0000, 0x002, 0x0009, 0x003, 0x0063, 0x002, 0x00ff, 0x012, 0x0709, 0x002
    dw 0x0905, 0x002, 0xff80, 0x002, 0x1234, 0x013
    dw 0xffff, 0

section .bss
align 8
idt32: resb 8 * 8
