; A payload for snapshot tests: prints an increasing decimal counter on COM1, one line about
; every 2^27 TSC ticks (0.13 s on the software CPU's 1 GHz TSC, less on a host TSC). The
; counter lives in guest memory and the loop state in registers, so a restored VM goes on
; from where it was saved. Real mode, flat binary loaded at 0x7c00.
bits 16
org 0x7c00
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
next:
    inc dword [count]
    mov eax, [count]
    call print_decimal
    mov al, 10
    call putc
    rdtsc                       ; EDX:EAX
    mov ebx, eax
    mov ecx, edx
.wait:
    pause
    rdtsc
    sub eax, ebx
    sbb edx, ecx
    jnz next                    ; 2^32 ticks or more
    cmp eax, 1 << 27
    jb .wait
    jmp next

; Prints EAX in decimal.
print_decimal:
    mov di, digits_end
    mov ebx, 10
.digit:
    xor edx, edx
    div ebx
    add dl, '0'
    dec di
    mov [di], dl
    test eax, eax
    jnz .digit
.out:
    mov al, [di]
    call putc
    inc di
    cmp di, digits_end
    jb .out
    ret

putc:
    mov dx, 0x3f8
    out dx, al
    ret

count: dd 0
digits: times 12 db 0
digits_end:
