; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: exception 06 error=00000000\n
; expect-output: debug exceptions: 07\n
; expect-output: 24:4000\n
; expect-output: 29:4000\n
; expect-output: 2c:4000\n
; expect-output: 31:4000\n
; expect-output: 32:4000\n
; expect-output: 3a:4000\n
; expect-output: 3b:4000\n
; TF single-step traps from ring 3 in 64-bit mode (SDM Vol. 3B §17.3.1.4): none after the
; POPF that sets TF, one after the POPF that clears it, none between MOV SS and the next
; instruction. The ring-0 #DB handler logs each trap's RIP (as an offset into user_main) and
; DR6 (B0-B3, BS), then clears DR6; the kernel prints the log once ring 3 is done.
; INT1 and DR0-DR3 breakpoints are checked by tests/unit/emu/emu_debug_test.cpp instead: PVM
; KVM does not arm the guest's DR7, and QEMU TCG delivers no #DB for INT1 from ring 3 (the
; host CPU does, through KVM).
%include "start64.inc"
%include "user64.inc"

long_main:
    call idt64_install
    SET_GATE 1, db_handler
    USER_PAGES

    ENTER_USER64 user_main

user_main:
    EXPECT_FAULT_TO_KERNEL kernel_again
    pushfq
    or qword [rsp], 0x100
    popfq                       ; sets TF: no trap after it
    nop
    mov eax, 1
    mov cx, ss
    mov ss, cx                  ; its trap is held back one instruction
    add eax, 2
    pushfq
    and qword [rsp], ~0x100
    popfq                       ; clears TF: a trap after it all the same
    nop
    ud2

kernel_again:
    mov esp, stack_top
    mov esi, msg_count
    call puts64
    mov rax, [db_count]
    mov ecx, 2
    call puthex64
    mov al, 10
    call putc64
    xor ebx, ebx
.entry:
    cmp rbx, [db_count]
    je .done
    mov rdx, rbx
    shl rdx, 4
    mov rax, [db_log + rdx]
    mov ecx, 2
    call puthex64
    mov al, ':'
    call putc64
    mov rax, [db_log + rdx + 8]
    mov ecx, 4
    call puthex64
    mov al, 10
    call putc64
    inc rbx
    jmp .entry
.done:
    EXIT 0

; #DB: log (RIP - user_main, DR6 & 400Fh) and clear DR6.
db_handler:
    push rax
    push rcx
    mov rcx, [db_count]
    cmp rcx, 32
    jae .full
    shl rcx, 4
    mov rax, [rsp + 16]         ; frame RIP
    sub rax, user_main
    mov [db_log + rcx], rax
    mov rax, dr6
    and eax, 0x400f
    mov [db_log + rcx + 8], rax
.full:
    inc qword [db_count]
    mov eax, 0xffff0ff0
    mov dr6, rax
    pop rcx
    pop rax
    iretq

%include "console64.inc"

section .data
align 8
db_count: dq 0
msg_count: db "debug exceptions: ", 0

section .bss
alignb 16
db_log: resb 32 * 16
