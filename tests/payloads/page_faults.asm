; vessel-payload: format=multiboot
; expect-exit: 1
; expect-output: read of a not-present page\n
; expect-output: exception 0e error=00000000 cr2=0000000000180010\n
; expect-output: write to a not-present page\n
; expect-output: exception 0e error=00000002 cr2=0000000000180ff8\n
; expect-output: read of a read-only page: 5a5a5a5a\n
; expect-output: write to a read-only page\n
; expect-output: exception 0e error=00000003 cr2=0000000000181004\n
; expect-output: read beyond the mapped 2 MiB\n
; expect-output: exception 0e error=00000000 cr2=0000000000400000\n
; expect-output: page faults handled\n
; Page faults in 64-bit mode with the right CR2 and error code (SDM Vol. 3A §4.7: bit 0 P,
; bit 1 W/R, bit 2 U/S). Page 0x180000 is made not present, page 0x181000 read-only;
; CR0.WP = 1, so supervisor writes honour the read-only bit.
%include "multiboot.inc"
%include "longmode.inc"
bits 32

NOT_PRESENT equ 0x180000
READ_ONLY   equ 0x181000

_start:
    mov esp, stack_top
    mov dword [READ_ONLY], 0x5a5a5a5a   ; before paging makes it read-only
    ENTER_LONG_MODE long_main

bits 64
%include "idt64.inc"

long_main:
    call idt64_install
    mov qword [pt + 8 * (NOT_PRESENT >> 12)], 0
    mov qword [pt + 8 * (READ_ONLY >> 12)], READ_ONLY + PTE_P
    invlpg [NOT_PRESENT]
    invlpg [READ_ONLY]

    mov esi, msg_np_read
    call puts64
    EXPECT_FAULT .after1
    mov rax, [NOT_PRESENT + 0x10]
.after1:

    mov esi, msg_np_write
    call puts64
    EXPECT_FAULT .after2
    mov qword [NOT_PRESENT + 0xff8], 1
.after2:

    mov esi, msg_ro_read
    call puts64
    mov eax, [READ_ONLY]
    mov rcx, 8
    call puthex64
    mov al, 10
    call putc64

    mov esi, msg_ro_write
    call puts64
    EXPECT_FAULT .after3
    mov dword [READ_ONLY + 4], 1
.after3:

    mov esi, msg_unmapped
    call puts64
    EXPECT_FAULT .after4
    mov rbx, 0x400000               ; PD entry 2 is not present
    mov rax, [rbx]
.after4:

    mov esi, msg_done
    call puts64
    EXIT 0

%include "console64.inc"

section .data
msg_np_read: db "read of a not-present page", 10, 0
msg_np_write: db "write to a not-present page", 10, 0
msg_ro_read: db "read of a read-only page: ", 0
msg_ro_write: db "write to a read-only page", 10, 0
msg_unmapped: db "read beyond the mapped 2 MiB", 10, 0
msg_done: db "page faults handled", 10, 0
