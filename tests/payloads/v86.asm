; vessel-payload: format=multiboot
; expect-exit: 1
; pvm-skip: ring-0 protected-mode code and the IRET to v86 mode go through KVM's instruction emulator there
; expect-output: v86: cs [0900:0]: 0800 beef\n
; expect-output: #GP: err op flags ds: 0000 00e6 0020 0000\n
; expect-output: #GP: err op flags ds: 0000 00cd 0020 0000\n
; expect-output: #GP: err op flags ds: 0000 00fa 0020 0000\n
; expect-output: #GP: err op flags ds: 0000 009c 0020 0000\n
; expect-output: #GP: err op flags ds: 0000 00cd 0020 0000\n
; expect-output: v86 iopl 3: flags 3002\n
; expect-output: int 0x30: eip cs flags esp ss es ds fs gs depth ds: 003d 0800 0023 0f00 0800 0900 0800 0000 0000 0024 0000\n
; expect-output: v86 iret: sp 0f00\n
; expect-output: monitor: cs flags: 0008 0003\n
; Virtual-8086 mode (SDM Vol. 3A ch. 20) under a small ring-0 monitor in 32-bit protected
; mode. The monitor copies a real-mode style program to 0x8000 and enters it by IRET with
; VM = 1, IOPL 0. The program prints through the UART (ports 0x3f8-0x3ff are open in the TSS
; I/O permission bitmap) and checks that a segment's base is its selector << 4. With IOPL 0,
; OUT to a closed port, INT n, CLI and PUSHF raise #GP(0): the monitor's handler sees the v86
; frame (null data segments on entry), skips the instruction and IRETs back into v86 mode.
; INT 0x40 asks the monitor for IOPL 3; then CLI and PUSHF run, INT 0x30 reaches its ring-0
; handler through the IDT with GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP on the ring-0 stack,
; an IRET inside v86 mode works like real mode's, and INT 0x41 leaves v86 mode for good.
%include "multiboot.inc"
%include "gdt32.inc"
bits 32

V86_SEG equ 0x800                   ; the program runs at 0800:0000 = linear 0x8000
IOMAP equ 104                       ; I/O bitmap offset in the TSS

_start:
    LOAD_FLAT_GDT
    mov esp, stack_top
    cld
    mov esi, v86_code               ; the v86 program below 1 MiB
    mov edi, V86_SEG << 4
    mov ecx, v86_end - v86_code
    rep movsb
    mov edi, tss + IOMAP            ; every port closed but the UART's
    mov ecx, 8192 + 1
    mov al, 0xff
    rep stosb
    mov byte [tss + IOMAP + 0x3f8 / 8], 0
    mov dword [tss + 4], stack0_top ; ESP0
    mov dword [tss + 8], 0x10       ; SS0
    mov word [tss + 0x66], IOMAP
    mov eax, tss
    mov [gdt.tss + 2], ax
    shr eax, 16
    mov [gdt.tss + 4], al
    mov [gdt.tss + 7], ah
    mov al, 13
    mov ebx, gp_handler
    mov dx, 0x8e00                  ; interrupt gate, DPL 0
    call set_gate
    mov al, 0x30
    mov ebx, int30_handler
    mov dx, 0xee00                  ; interrupt gate, DPL 3
    call set_gate
    mov al, 0x41
    mov ebx, leave_handler
    call set_gate
    lidt [idt_ptr]
    mov ax, 0x18
    ltr ax
    push dword 0                    ; GS
    push dword 0                    ; FS
    push dword V86_SEG              ; DS
    push dword V86_SEG              ; ES
    push dword V86_SEG              ; SS
    push dword 0x0f00               ; ESP
    push dword 0x20002              ; EFLAGS: VM, IOPL 0, IF 0
    push dword V86_SEG              ; CS
    push dword 0                    ; EIP
    iretd

; Left v86 mode (INT 0x41): back in the monitor for good.
monitor_back:
    mov esi, msg_back
    call puts32
    mov eax, cs
    call hex4
    pushfd
    pop eax
    shr eax, 12
    call hex4
    call newline
    EXIT 0

; #GP from v86 mode: print the error code, the opcode, EFLAGS[19:12] and the DS seen on
; entry; skip the instruction (INT 0x40 also sets IOPL 3 in the frame) and return.
gp_handler:
    push eax
    xor eax, eax
    mov ax, ds
    mov [ss:entry_ds], eax
    mov ax, 0x10
    mov ds, ax
    pushad                          ; frame: error at esp + 36, EIP at + 40, CS + 44, EFLAGS + 48
    mov esi, msg_gp
    call puts32
    mov eax, [esp + 36]
    call hex4
    movzx ebx, word [esp + 44]
    shl ebx, 4
    add ebx, [esp + 40]             ; CS:EIP as a linear address
    movzx eax, byte [ebx]
    call hex4
    mov eax, [esp + 48]
    and eax, ~0x10000               ; RF: 1 in a fault's frame (SDM), 0 on QEMU 7.2 TCG
    shr eax, 12
    call hex4
    mov eax, [entry_ds]
    call hex4
    call newline
    movzx eax, byte [ebx]
    mov ecx, 1                      ; CLI, PUSHF
    cmp al, 0xfa
    je .skip
    cmp al, 0x9c
    je .skip
    mov ecx, 2                      ; INT n, OUT imm8
    cmp word [ebx], 0x40cd
    jne .skip
    or dword [esp + 48], 0x3000     ; INT 0x40: IOPL 3
.skip:
    add [esp + 40], ecx
    popad
    pop eax
    add esp, 4                      ; the error code
    iretd

; INT 0x30 from v86 mode with IOPL 3: print the frame and the depth below ESP0.
int30_handler:
    push eax
    xor eax, eax
    mov ax, ds
    mov [ss:entry_ds], eax
    mov ax, 0x10
    mov ds, ax
    mov eax, stack0_top - 4
    sub eax, esp
    mov [depth], eax
    pop eax
    pushad                          ; frame: EIP at esp + 32
    mov esi, msg_int30
    call puts32
    xor ebp, ebp
.frame:
    mov eax, [esp + 32 + ebp * 4]
    cmp ebp, 2
    jne .print
    shr eax, 12                     ; EFLAGS[19:12]: VM, IOPL
.print:
    call hex4
    inc ebp
    cmp ebp, 9
    jne .frame
    mov eax, [depth]
    call hex4
    mov eax, [entry_ds]
    call hex4
    call newline
    popad
    iretd

leave_handler:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov esp, stack_top
    jmp monitor_back

; IDT entry AL: handler EBX, type/attributes DX, selector 0x08.
set_gate:
    movzx eax, al
    lea edi, [idt + eax * 8]
    mov [edi], bx
    mov word [edi + 2], 0x08
    mov [edi + 4], dx
    shr ebx, 16
    mov [edi + 6], bx
    ret

%include "console32.inc"

; The v86 program: position-independent 16-bit code run at 0800:0000 (offsets are
; label - v86_code).
%define V(label) (label - v86_code)
bits 16
v86_code:
    mov si, V(msg_hello)
    call puts16
    mov ax, cs
    call hex16
    mov ax, 0x900                   ; 0900:0000 is 0800:1000
    mov es, ax
    mov word [es:0], 0xbeef
    mov ax, [0x1000]
    call hex16
    mov al, 10
    call putc16
    out 0x80, al                    ; closed port: #GP
    int 0x30                        ; IOPL 0: #GP
    cli                             ; #GP
    pushf                           ; #GP
    int 0x40                        ; #GP; the monitor sets IOPL 3
    cli
    pushf
    pop ax
    mov si, V(msg_flags)
    call puts16
    call hex16
    mov al, 10
    call putc16
    int 0x30                        ; to the ring-0 handler and back
    pushf                           ; IRET inside v86 mode, as in real mode
    push cs
    push word V(.after_iret)
    iret
.after_iret:
    mov si, V(msg_iret)
    call puts16
    mov ax, sp
    call hex16
    mov al, 10
    call putc16
    int 0x41                        ; leave

hex16:
    push ax
    mov al, ' '
    call putc16
    pop ax
    push cx
    mov cx, 4
    call puthex16
    pop cx
    ret

%include "console16.inc"

msg_hello: db "v86: cs [0900:0]:", 0
msg_flags: db "v86 iopl 3: flags", 0
msg_iret: db "v86 iret: sp", 0
v86_end:
bits 32

section .data
align 8
gdt:
    FLAT_GDT_DESCRIPTORS 0
.tss:
    dw 104 + 8192, 0                ; 0x18: 32-bit TSS with the whole I/O bitmap
    db 0, 0x89, 0, 0
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt
idt_ptr:
    dw 0x42 * 8 - 1
    dd idt
entry_ds: dd 0
depth: dd 0
msg_gp: db "#GP: err op flags ds:", 0
msg_int30: db "int 0x30: eip cs flags esp ss es ds fs gs depth ds:", 0
msg_back: db "monitor: cs flags:", 0

section .bss
alignb 16
idt: resb 0x42 * 8
tss: resb IOMAP + 8192 + 1
alignb 16
    resb 2048
stack0_top:
