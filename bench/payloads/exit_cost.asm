; vessel-payload: format=multiboot
; Exit-cost benchmark: COUNT `out 0x80, al` instructions, then exit with status 1. Port 0x80 is
; the POST-code port: no vessel device claims it (an unclaimed write is dropped and counted) and
; QEMU's -M pc has a do-nothing device there, so on either VMM each OUT is one exit to user
; space and back (KVM_EXIT_IO) that touches no device state.
; Build with -DCOUNT=n and optionally -DRING3 (run the loop at CPL 3 with IOPL = 3). The script
; runs two counts and takes the slope, which removes start-up and shut-down.
; The loop is three instructions per OUT: out, dec, jnz.
%include "multiboot.inc"
%include "longmode.inc"
bits 32

%ifndef COUNT
%define COUNT 1000
%endif

_start:
    mov esp, stack_top
    ENTER_LONG_MODE long_main

bits 64
%ifdef RING3
%include "ring3.inc"
%endif

long_main:
%ifdef RING3
    mov edi, pml4
    mov ecx, 512
    call ring3_mark_user
    mov edi, pdpt
    call ring3_mark_user
    mov edi, pd
    call ring3_mark_user
    mov edi, pt
    call ring3_mark_user
    ENTER_RING3 bench_loop
%endif

bench_loop:
    mov ecx, COUNT
    test ecx, ecx
    jz .done
    xor eax, eax
.out:
    out 0x80, al
    dec ecx
    jnz .out
.done:
    EXIT 0
