; vessel-payload: format=multiboot
; expect-exit: 1
; pvm-skip: ring-0 protected-mode code goes through KVM's instruction emulator there
; expect-output: task b: tr nt link busy-a busy-b a.ebx: 0030 0000 0000 0089 008b abcd\n
; expect-output: jmp back: ebx tr busy-a busy-b: abcd 0028 008b 0089\n
; expect-output: task c: tr nt link busy-a busy-c: 0038 0001 0028 008b 008b\n
; expect-output: call back: nt busy-a busy-c ts: 0000 008b 0089 0001\n
; expect-output: again c: 0038 0001 0028 008b 008b\n
; expect-output: busy jmp, busy call: #GP 0028 0028\n
; expect-output: df task: err depth link nt eip-ok: 0000 0004 0028 0001 0001\n
; expect-output: after df: tr ebx: 0028 abcd\n
; Hardware task switches in 32-bit protected mode (SDM Vol. 3A ch. 7). Task A (the payload,
; TSS 0x28) JMPs to task B (TSS 0x30), which JMPs back: busy bits move, no nesting. A CALLs
; through a task gate (0x40) to task C (TSS 0x38): C runs nested (NT, back link 0x28, A still
; busy); C's IRET returns to A, and a second CALL resumes C after its IRET. A JMP or CALL to
; a busy TSS raises #GP(selector). A #DE with a not-present IDT entry becomes a #DF, whose
; IDT entry is a task gate to task D (TSS 0x48): D finds the error code 0 on its stack, points
; A's saved EIP past the fault and IRETs back.
%include "multiboot.inc"
%include "gdt32.inc"
bits 32

; A 32-bit TSS image (SDM Vol. 3A Figure 7-2): EIP, ESP; ring-0 flat segments, IF = 0,
; no LDT, the I/O map base beyond the limit.
%macro TSS32 2
    dd 0                            ; back link
    dd 0, 0, 0, 0, 0, 0             ; ESP0, SS0, ESP1, SS1, ESP2, SS2
    dd 0                            ; CR3 (paging is off: not loaded)
    dd %1                           ; EIP
    dd 2                            ; EFLAGS
    dd 0, 0, 0, 0                   ; EAX, ECX, EDX, EBX
    dd %2                           ; ESP
    dd 0, 0, 0                      ; EBP, ESI, EDI
    dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10  ; ES, CS, SS, DS, FS, GS
    dd 0                            ; LDT
    dw 0, 104                       ; T, I/O map base
%endmacro

_start:
    LOAD_FLAT_GDT
    mov esp, stack_top
    mov eax, tss_a
    mov edi, gdt.tss_a
    call set_base
    mov eax, tss_b
    mov edi, gdt.tss_b
    call set_base
    mov eax, tss_c
    mov edi, gdt.tss_c
    call set_base
    mov eax, tss_d
    mov edi, gdt.tss_d
    call set_base
    mov eax, gp_handler             ; IDT 13: interrupt gate
    mov [idt + 13 * 8], ax
    mov word [idt + 13 * 8 + 2], 0x08
    mov word [idt + 13 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 13 * 8 + 6], ax
    mov word [idt + 8 * 8 + 2], 0x48     ; IDT 8 (#DF): task gate to TSS D
    mov word [idt + 8 * 8 + 4], 0x8500
    lidt [idt_ptr]
    mov ax, 0x28
    ltr ax

    ; JMP to task B and back.
    mov ebx, 0x1234abcd
    jmp 0x30:0
    mov esi, msg_jmp_back
    call puts32
    mov eax, ebx
    call hex4
    str ax
    call hex4
    movzx eax, byte [gdt.tss_a + 5]
    call hex4
    movzx eax, byte [gdt.tss_b + 5]
    call hex4
    call newline

    ; CALL through the task gate, twice.
    mov dword [c_msg], msg_c
    call 0x40:0
    mov esi, msg_call_back
    call puts32
    call nt_flag
    call hex4
    movzx eax, byte [gdt.tss_a + 5]
    call hex4
    movzx eax, byte [gdt.tss_c + 5]
    call hex4
    mov eax, cr0
    shr eax, 3                      ; CR0.TS
    and eax, 1
    call hex4
    call newline
    clts
    mov dword [c_msg], msg_again
    call 0x40:0

    ; JMP and CALL to A's own (busy) TSS.
    mov dword [resume], .after_jmp
    jmp 0x28:0
.after_jmp:
    mov eax, [gp_error]
    mov [gp_first], eax
    mov dword [resume], .after_call
    call 0x28:0
.after_call:
    mov esi, msg_busy
    call puts32
    mov eax, [gp_first]
    call hex4
    mov eax, [gp_error]
    call hex4
    call newline

    ; #DE → #NP (IDT 0 not present) → #DF through the task gate.
    mov dword [df_resume], .after_df
    xor edx, edx
    xor ecx, ecx
    mov eax, 1
.fault:
    div ecx
.after_df:
    mov esi, msg_df
    call puts32
    mov eax, [df_err]
    call hex4
    mov eax, [df_depth]
    call hex4
    mov eax, [df_link]
    call hex4
    mov eax, [df_nt]
    call hex4
    mov eax, [df_eip]
    cmp eax, .fault
    sete al
    movzx eax, al
    call hex4
    call newline
    mov esi, msg_after_df
    call puts32
    str ax
    call hex4
    mov eax, ebx
    call hex4
    call newline
    EXIT 0

task_b:
    mov ebx, 0x5555                 ; B's own EBX: A's must survive
    mov esi, msg_b
    call puts32
    str ax
    call hex4
    call nt_flag
    call hex4
    movzx eax, word [tss_b]
    call hex4
    movzx eax, byte [gdt.tss_a + 5]
    call hex4
    movzx eax, byte [gdt.tss_b + 5]
    call hex4
    mov eax, [tss_a + 0x34]         ; A's EBX as the JMP saved it
    call hex4
    call newline
    jmp 0x28:0

task_c:
    mov esi, [c_msg]
    call puts32
    str ax
    call hex4
    call nt_flag
    call hex4
    movzx eax, word [tss_c]
    call hex4
    movzx eax, byte [gdt.tss_a + 5]
    call hex4
    movzx eax, byte [gdt.tss_c + 5]
    call hex4
    call newline
    iretd
    jmp task_c

task_d:
    mov eax, stack_d_top
    sub eax, esp
    mov [df_depth], eax
    pop eax
    mov [df_err], eax
    movzx eax, word [tss_d]
    mov [df_link], eax
    call nt_flag
    mov [df_nt], eax
    mov eax, [tss_a + 0x20]
    mov [df_eip], eax
    mov eax, [df_resume]
    mov [tss_a + 0x20], eax
    iretd
    jmp task_d

; #GP: record the error code, continue at [resume].
gp_handler:
    pop dword [gp_error]
    mov eax, [resume]
    mov [esp], eax
    iretd

; EAX = EFLAGS.NT.
nt_flag:
    pushfd
    pop eax
    shr eax, 14
    and eax, 1
    ret

SET_BASE_ROUTINE

%include "console32.inc"

section .data
align 8
gdt:
    FLAT_GDT_DESCRIPTORS 3
.tss_a:
    dw 103, 0
    db 0, 0x89, 0, 0                ; 0x28: available 32-bit TSS
.tss_b:
    dw 103, 0
    db 0, 0x89, 0, 0                ; 0x30
.tss_c:
    dw 103, 0
    db 0, 0x89, 0, 0                ; 0x38
.gate:
    dw 0, 0x38                      ; 0x40: task gate to TSS C, DPL 0
    db 0, 0x85
    dw 0
.tss_d:
    dw 103, 0
    db 0, 0x89, 0, 0                ; 0x48
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt
idt_ptr:
    dw 32 * 8 - 1
    dd idt
align 16
tss_a: times 104 db 0               ; filled by the first switch away from A
tss_b: TSS32 task_b, stack_b_top
tss_c: TSS32 task_c, stack_c_top
tss_d: TSS32 task_d, stack_d_top
resume: dd 0
df_resume: dd 0
c_msg: dd 0
gp_error: dd 0
gp_first: dd 0
df_err: dd 0xffff
df_depth: dd 0
df_link: dd 0
df_nt: dd 0
df_eip: dd 0
msg_b: db "task b: tr nt link busy-a busy-b a.ebx:", 0
msg_jmp_back: db "jmp back: ebx tr busy-a busy-b:", 0
msg_c: db "task c: tr nt link busy-a busy-c:", 0
msg_again: db "again c:", 0
msg_call_back: db "call back: nt busy-a busy-c ts:", 0
msg_busy: db "busy jmp, busy call: #GP", 0
msg_df: db "df task: err depth link nt eip-ok:", 0
msg_after_df: db "after df: tr ebx:", 0

section .bss
alignb 16
idt: resb 32 * 8
    resb 1024
stack_b_top:
    resb 1024
stack_c_top:
    resb 1024
stack_d_top:
