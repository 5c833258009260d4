; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: exception 0d error=00000000\n
; expect-output: exception 06 error=00000000\n
; expect-output: results:\n
; expect-output: 0000001011223344\n
; expect-output: 9234567780ff00ff\n
; expect-output: 001040a141918100\n
; expect-output: 007f807f80000000\n
; expect-output: 0000000000000463\n
; expect-output: 00000000000004e6\n
; expect-output: 800000007fffffff\n
; expect-output: 01020304fffffff0\n
; expect-output: ffffffff0020ffff\n
; expect-output: ff0000000000ffff\n
; expect-output: 3ff999999999999a\n
; expect-output: 3fe8000000000000\n
; expect-output: 0000000000000500\n
; expect-output: 3fe0000000000000\n
; expect-output: 3fe6a09e667f3bcd\n
; expect-output: 434b13114b9c51dc\n
; expect-output: 0000000000000002\n
; expect-output: 0000000000000003\n
; expect-output: 0000000000000002\n
; expect-output: 0000000000000001\n
; expect-output: 0000000000000045\n
; expect-output: 0000000000001fa0\n
; expect-output: 0000000000001f81\n
; expect-output: 0000000000000004\n
; expect-output: 000000000000037f\n
; expect-output: 0000000000001f81\n
; expect-output: 0000001011223344\n
; SSE/SSE2, x87 and FXSAVE in ring 3 of long mode (guest ring-0 SSE fails under PVM KVM;
; ring 3 runs natively there). Ring 0 enables SSE (CR0.EM = 0, CR0.MP = 1, CR4.OSFXSR and
; CR4.OSXMMEXCPT, SDM Vol. 3A §13.1.3), drops to ring 3, which computes packed integer and
; double results, MXCSR rounding (RC down/up), COMISD flags, MXCSR exception flags, an x87
; product through FISTP, and an FXSAVE64 image; a misaligned MOVAPS raises #GP(0) (SDM Vol. 1
; §10.4.1.1). A UD2 returns to ring 0, which prints every result as 16 hex digits (ring 0
; never touches an SSE register).
%include "start64.inc"
%include "user64.inc"

CR0_MP equ 1 << 1
CR0_EM equ 1 << 2
CR0_TS equ 1 << 3
CR4_OSFXSR equ 1 << 9
CR4_OSXMMEXCPT equ 1 << 10
NUM_RESULTS equ (results_end - results) / 8

long_main:
    call idt64_install
    USER_PAGES

    mov rax, cr0
    and rax, ~(CR0_EM | CR0_TS)
    or rax, CR0_MP
    mov cr0, rax
    mov rax, cr4
    or rax, CR4_OSFXSR | CR4_OSXMMEXCPT
    mov cr4, rax

    ENTER_USER64 user_main

user_main:
    ; Packed integers.
    movdqa xmm0, [vec_a]
    movdqa xmm1, [vec_b]
    movdqa xmm2, xmm0
    paddd xmm2, xmm1
    movdqa [r_paddd], xmm2
    movdqa xmm3, xmm0
    pmuludq xmm3, xmm1
    movdqa [r_pmuludq], xmm3
    movdqa xmm4, xmm0
    psadbw xmm4, xmm1
    movdqa [r_psadbw], xmm4
    pshufd xmm5, xmm0, 0x1b
    movdqa [r_pshufd], xmm5
    movdqa xmm6, xmm1
    packuswb xmm6, xmm0
    movdqa [r_packuswb], xmm6
    pmovmskb eax, xmm1
    mov [r_pmovmskb], rax
    ; Doubles.
    movapd xmm6, [dbl_a]
    addpd xmm6, [dbl_b]
    movapd [r_addpd], xmm6
    movsd xmm7, [dbl_a]
    divsd xmm7, [dbl_b + 8]         ; 1.5 / 3.0
    sqrtsd xmm8, xmm7
    movsd [r_divsd], xmm7
    movsd [r_sqrtsd], xmm8
    cvtsi2sd xmm9, qword [int_big]
    mulsd xmm9, xmm9
    movsd [r_cvtmul], xmm9
    stmxcsr [r_mxcsr]               ; PE (inexact) from the arithmetic above
    ; MXCSR rounding control.
    ldmxcsr [mxcsr_down]
    cvtsd2si rax, [two_half]
    mov [r_round_down], rax
    ldmxcsr [mxcsr_up]
    cvtsd2si rax, [two_half]
    mov [r_round_up], rax
    cvttsd2si rax, [two_half]
    mov [r_trunc], rax
    ldmxcsr [mxcsr_default]
    ; COMISD flags: less, then unordered.
    movsd xmm10, [dbl_a]
    comisd xmm10, [dbl_b + 8]
    pushfq
    pop rax
    and eax, 0x8d5
    mov [r_comisd_lt], rax
    ucomisd xmm10, [qnan]
    pushfq
    pop rax
    and eax, 0x8d5
    mov [r_ucomisd_un], rax
    comisd xmm10, [qnan]            ; COMISD (unlike UCOMISD) signals invalid on a QNaN
    stmxcsr [r_mxcsr2]
    ; x87: 1.5 * 3.0 = 4.5, FISTP rounds to nearest even = 4.
    fninit
    fld qword [dbl_a]
    fmul qword [dbl_b + 8]
    fistp qword [r_x87]
    fnstcw [r_fcw]
    ; FXSAVE64 image fields.
    fxsave64 [fx_area]
    mov eax, [fx_area + 24]
    mov [r_fx_mxcsr], rax
    mov rax, [fx_area + 160 + 16 * 2]   ; XMM2 low qword
    mov [r_fx_xmm2], rax
    ; Misaligned aligned-form operand: #GP(0), resumed below.
    EXPECT_FAULT .after_gp
    movaps xmm11, [vec_a + 8]
.after_gp:
    EXPECT_FAULT_TO_KERNEL kernel_again
    ud2

kernel_again:
    mov esp, stack_top
    mov esi, msg_results
    call puts64
    xor ebx, ebx
.print:
    mov rax, [results + rbx * 8]
    mov rcx, 16
    call puthex64
    mov al, 10
    call putc64
    inc ebx
    cmp ebx, NUM_RESULTS
    jne .print
    EXIT 0

%include "console64.inc"

section .data
align 16
vec_a: dd 0x01020304, 0xfffffff0, 0x80000000, 0x7fffffff
vec_b: dd 0x10203040, 0x00000020, 0x00ff00ff, 0x12345678
dbl_a: dq 1.5, -2.25
dbl_b: dq 0.1, 3.0
two_half: dq 2.5
qnan: dq 0x7ff8000000000000
int_big: dq 123456789
mxcsr_down: dd 0x3f80
mxcsr_up: dd 0x5f80
mxcsr_default: dd 0x1f80

align 16
results:
r_paddd: dq 0, 0
r_pmuludq: dq 0, 0
r_psadbw: dq 0, 0
r_pshufd: dq 0, 0
r_packuswb: dq 0, 0
r_addpd: dq 0, 0
r_pmovmskb: dq 0
r_divsd: dq 0
r_sqrtsd: dq 0
r_cvtmul: dq 0
r_round_down: dq 0
r_round_up: dq 0
r_trunc: dq 0
r_comisd_lt: dq 0
r_ucomisd_un: dq 0
r_mxcsr: dq 0
r_mxcsr2: dq 0
r_x87: dq 0
r_fcw: dq 0
r_fx_mxcsr: dq 0
r_fx_xmm2: dq 0
results_end:

msg_results: db "results:", 10, 0

section .bss
alignb 16
alignb 16
fx_area: resb 512
