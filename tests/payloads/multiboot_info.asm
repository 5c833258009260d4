; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: eax=2badb002\n
; expect-output: flags has mem+mmap: 41\n
; expect-output: mem_lower in [512K, 640K]: 1\n
; expect-output: mem_upper in [14M, 15M]: 1\n
; expect-output: mmap has available RAM at 1 MiB: 1\n
; expect-output: cs.d=1 paging=0\n
; The multiboot entry state (Multiboot Specification 0.6.96 §3.2, §3.3): the magic in EAX,
; and the information structure at EBX describing a 16 MiB guest. Ranges, not exact sizes:
; loaders may keep some RAM for themselves (QEMU reserves the EBDA below 640 KiB and the
; top 128 KiB of RAM).
%include "multiboot.inc"
bits 32

_start:
    mov esp, stack_top
    mov ebp, ebx
    mov esi, msg_eax
    call puts32
    mov ecx, 8
    call puthex32

    mov esi, msg_flags
    call puts32
    mov eax, [ebp]
    and eax, 0x41               ; bit 0: mem_lower/upper, bit 6: mmap
    mov ecx, 2
    call puthex32

    mov esi, msg_lower
    mov eax, [ebp + 4]
    mov ebx, 512
    mov edx, 640
    call print_in_range
    mov esi, msg_upper
    mov eax, [ebp + 8]
    mov ebx, 14 * 1024
    mov edx, 15 * 1024
    call print_in_range

    mov esi, msg_mmap
    call puts32
    call find_ram_at_1m
    mov ecx, 1
    call puthex32

    ; A 32-bit code segment: these bytes are `mov eax, 1` only with a 32-bit default size.
    mov esi, msg_cs
    call puts32
    db 0xb8
    dd 1
    call puthex32
    mov esi, msg_paging
    call puts32
    mov eax, cr0
    shr eax, 31
    call puthex32
    mov al, 10
    call putc32
    EXIT 0

; ESI = label, EAX = value, [EBX, EDX] = range: prints label and 1 or 0.
print_in_range:
    call puts32
    cmp eax, ebx
    setae cl
    cmp eax, edx
    setbe ch
    and cl, ch
    movzx eax, cl
    mov ecx, 1
    jmp puthex32

; EAX = 1 if the memory map has an available (type 1) entry starting at 1 MiB, else 0.
find_ram_at_1m:
    mov esi, [ebp + 48]         ; mmap_addr
    mov edi, esi
    add edi, [ebp + 44]         ; + mmap_length
.entry:
    cmp esi, edi
    jae .missing
    cmp dword [esi + 4], 0x100000   ; base_addr low
    jne .next
    cmp dword [esi + 8], 0          ; base_addr high
    jne .next
    cmp dword [esi + 20], 1         ; type: available RAM
    jne .next
    mov eax, 1
    ret
.next:
    add esi, [esi]              ; `size` does not count itself
    add esi, 4
    jmp .entry
.missing:
    xor eax, eax
    ret

%include "console32.inc"

section .data
msg_eax: db "eax=", 0
msg_flags: db 10, "flags has mem+mmap: ", 0
msg_lower: db 10, "mem_lower in [512K, 640K]: ", 0
msg_upper: db 10, "mem_upper in [14M, 15M]: ", 0
msg_mmap: db 10, "mmap has available RAM at 1 MiB: ", 0
msg_cs: db 10, "cs.d=", 0
msg_paging: db " paging=", 0
