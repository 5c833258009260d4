; A guest that stays up for API tests that need a running VM: real mode, spinning with PAUSE.
; (A HLT-based idle guest needs the PIC's output routed through the local APIC's LINT0, which
; a flat payload without firmware cannot set up from real mode; spinning costs one core for
; the few seconds the test runs.) Flat binary loaded at 0x7c00.
bits 16
org 0x7c00
spin:
    pause
    jmp spin
