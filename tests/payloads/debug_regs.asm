; vessel-payload: format=multiboot
; expect-exit: 1
; pvm-skip: PVM KVM does not arm the guest's DR7 (no breakpoints) and emulates ring 0
; Debug exceptions in ring 0, 64-bit mode (SDM Vol. 3B ch. 17). Each #DB is logged as
; "tag rip:dr6:rcx" (RIP as an offset from the test's label, DR6 & E00Fh), then DR6 is cleared
; and the handler returns with RF set.
;   A: TF over INT 3 (CD 03) and INT3 (CC): no trap for them; the IRET back restores TF and
;      the trap comes after the instruction that follows it.
;   B: TF over REP STOSB with RCX = 3: a trap after each iteration (RIP at the REP, BS).
;   C: a data breakpoint (DR0, write, 4 bytes) hit by iteration 3 of REP STOSD with RCX = 6:
;      one trap after that iteration (RIP at the REP, B0, RCX = 3), none when it resumes.
;   D: an I/O breakpoint (CR4.DE, DR2 R/W = 10b) on port 80h: OUT 80h traps (B2), IN from 81h
;      does not.
; Checked by tests/unit/emu/emu_debug_test.cpp instead, because QEMU TCG departs from the SDM
; there: an instruction breakpoint on a REP instruction (QEMU faults again before every
; iteration, RF notwithstanding), I/O breakpoints under REP INS/OUTS (QEMU traps once, at
; the end) and DR7.GD (QEMU raises no #DB).
; expect-output: A 03:4000:0\nA 05:4000:0\n
; expect-output: B 00:4000:2\nB 00:4000:1\nB 02:4000:0\n
; expect-output: C 00:0001:3\n
; expect-output: D 02:0004:0\ndone\n
%include "start64.inc"

%macro SET_TF 0
    pushfq
    or qword [rsp], 0x100
    popfq
%endmacro

%macro CLEAR_TF 0
    pushfq
    and qword [rsp], ~0x100
    popfq
%endmacro

long_main:
    call idt64_install
    SET_GATE 1, db_handler
    SET_GATE 3, bp_handler

test_a:
    mov byte [tag], 'A'
    mov qword [base], test_a.int
    xor ecx, ecx
    SET_TF
.int:
    db 0xcd, 0x03               ; INT 3 (the INT n form)
    nop                         ; +2: the trap after it has RIP +3
    int3                        ; +3
    nop                         ; +4: trap with RIP +5
    mov byte [logging], 0       ; +5: the traps from here on are not logged
    CLEAR_TF
    call flush

test_b:
    mov byte [tag], 'B'
    mov byte [logging], 1
    mov qword [base], test_b.rep
    mov edi, buffer
    mov ecx, 3
    mov al, 0x5a
    SET_TF
.rep:
    rep stosb
    mov byte [logging], 0       ; +2: the trap after it is not logged
    CLEAR_TF
    call flush

test_c:
    mov byte [tag], 'C'
    mov byte [logging], 1
    mov qword [base], test_c.rep
    mov eax, buffer + 8
    mov dr0, rax
    mov eax, 1 | (1 << 16) | (3 << 18)  ; L0, write, 4 bytes
    mov dr7, rax
    mov edi, buffer
    mov ecx, 6
    mov eax, 0x11223344
.rep:
    rep stosd
    xor eax, eax
    mov dr7, rax
    mov byte [logging], 0
    call flush

test_d:
    mov byte [tag], 'D'
    mov byte [logging], 1
    mov qword [base], test_d.out
    mov rax, cr4
    or eax, 1 << 3              ; CR4.DE
    mov cr4, rax
    mov eax, 0x80
    mov dr2, rax
    mov eax, (1 << 4) | (2 << 24)   ; L2, R/W = 10b, 1 byte
    mov dr7, rax
    xor ecx, ecx
.out:
    out 0x80, al                ; +0: trap with RIP +2
    in al, 0x81                 ; +2
    xor eax, eax
    mov dr7, rax
    mov byte [logging], 0
    call flush

    mov esi, msg_done
    call puts64
    EXIT 0

; Prints the log of the current test and empties it.
flush:
    push rax
    push rbx
    push rcx
    push rdx
    xor ebx, ebx
.entry:
    cmp rbx, [db_count]
    je .done
    mov al, [tag]
    call putc64
    mov al, ' '
    call putc64
    imul rdx, rbx, 24
    mov rax, [db_log + rdx]
    mov ecx, 2
    call puthex64
    mov al, ':'
    call putc64
    mov rax, [db_log + rdx + 8]
    mov ecx, 4
    call puthex64
    mov al, ':'
    call putc64
    mov rax, [db_log + rdx + 16]
    mov ecx, 1
    call puthex64
    mov al, 10
    call putc64
    inc rbx
    jmp .entry
.done:
    mov qword [db_count], 0
    pop rdx
    pop rcx
    pop rbx
    pop rax
    ret

; #DB: while [logging] is set, log (RIP - [base], DR6 & E00Fh, RCX); clear DR6; return with RF.
db_handler:
    push rax
    push rdx
    cmp byte [logging], 0
    je .out
    mov rdx, [db_count]
    cmp rdx, 16
    jae .out
    imul rdx, rdx, 24
    mov rax, [rsp + 16]         ; frame RIP
    sub rax, [base]
    mov [db_log + rdx], rax
    mov rax, dr6
    and eax, 0xe00f
    mov [db_log + rdx + 8], rax
    mov [db_log + rdx + 16], rcx
    inc qword [db_count]
.out:
    mov eax, 0xffff0ff0
    mov dr6, rax
    or qword [rsp + 32], 0x10000    ; RF
    pop rdx
    pop rax
    iretq

bp_handler:
    iretq

%include "console64.inc"

section .data
align 8
db_count: dq 0
base: dq 0
logging: db 1
tag: db 0
msg_done: db "done", 10, 0

section .bss
alignb 16
db_log: resb 16 * 24
buffer: resb 64
