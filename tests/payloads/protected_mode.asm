; vessel-payload: format=flat
; expect-exit: 1
; expect-output: real mode: switching\n
; expect-output: protected mode: cr0.pe=1 cs=0008 ds=0010\n
; expect-output: 32-bit sum=23456789\n
; Real mode to 32-bit protected mode with the payload's own GDT (SDM Vol. 3A §10.9.1
; "Switching to Protected Mode"): lgdt, CR0.PE, far jump to a 32-bit code segment.
bits 16
org 0x7c00
%include "common.inc"

start:
    FLAT_PROLOGUE
    mov si, msg_real
    call puts16
    lgdt [gdt_ptr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp 0x08:pm_entry

bits 32
pm_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, 0x7c00
    mov esi, msg_pm
    call puts32
    mov eax, cr0
    and eax, 1
    mov ecx, 1
    call puthex32
    mov esi, msg_cs
    call puts32
    mov ax, cs
    movzx eax, ax
    mov ecx, 4
    call puthex32
    mov esi, msg_ds
    call puts32
    mov ax, ds
    movzx eax, ax
    call puthex32
    mov esi, msg_sum
    call puts32
    mov eax, 0x12345678         ; needs 32-bit operands to come out right
    add eax, 0x11111111
    mov ecx, 8
    call puthex32
    mov al, 10
    call putc32
    EXIT 0

%include "console16.inc"
%include "console32.inc"

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff       ; 0x08: 32-bit code, base 0, limit 4 GiB
    dq 0x00cf92000000ffff       ; 0x10: data
gdt_ptr:
    dw gdt_ptr - gdt - 1
    dd gdt

msg_real: db "real mode: switching", 10, 0
msg_pm: db "protected mode: cr0.pe=", 0
msg_cs: db " cs=", 0
msg_ds: db " ds=", 0
msg_sum: db 10, "32-bit sum=", 0

BOOT_SIGNATURE
