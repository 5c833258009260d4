; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: dword at +0000: 11223344\n
; expect-output: byte at +0001: 33\n
; expect-output: word at +0002: 1122\n
; expect-output: after byte write at +0002: 11aa3344\n
; expect-output: word at +0100: beef\n
; expect-output: dword at +fffc: cafef00d\n
; expect-output: untouched dword at +8000: 00000000\n
; MMIO to the test device: QEMU's pc-testdev "iomem" window, 64 KiB at 0xff000000 that reads
; back what was written at any width (vessel: devices/legacy/test_device.hpp). 32-bit
; protected mode without paging, as the multiboot loader leaves it.
%include "multiboot.inc"
bits 32

TESTDEV equ 0xff000000

_start:
    mov esp, stack_top
    mov edi, TESTDEV
    mov dword [edi], 0x11223344
    mov esi, msg_d0
    mov eax, [edi]
    call print_dword

    mov esi, msg_b1
    call puts32
    movzx eax, byte [edi + 1]
    mov ecx, 2
    call puthex32_nl

    mov esi, msg_w2
    call puts32
    movzx eax, word [edi + 2]
    mov ecx, 4
    call puthex32_nl

    mov byte [edi + 2], 0xaa
    mov esi, msg_after
    mov eax, [edi]
    call print_dword

    mov word [edi + 0x100], 0xbeef
    mov esi, msg_w100
    call puts32
    movzx eax, word [edi + 0x100]
    mov ecx, 4
    call puthex32_nl

    mov dword [edi + 0xfffc], 0xcafef00d
    mov esi, msg_dfffc
    mov eax, [edi + 0xfffc]
    call print_dword

    mov esi, msg_d8000
    mov eax, [edi + 0x8000]
    call print_dword
    EXIT 0

; ESI = label, EAX = value: "label" + 8 hex digits + newline.
print_dword:
    call puts32
    mov ecx, 8
puthex32_nl:
    call puthex32
    push eax
    mov al, 10
    call putc32
    pop eax
    ret

%include "console32.inc"

section .data
msg_d0: db "dword at +0000: ", 0
msg_b1: db "byte at +0001: ", 0
msg_w2: db "word at +0002: ", 0
msg_after: db "after byte write at +0002: ", 0
msg_w100: db "word at +0100: ", 0
msg_dfffc: db "dword at +fffc: ", 0
msg_d8000: db "untouched dword at +8000: ", 0
