/*
 * FOR TESTING UNDER WINE ONLY; never shipped, never installed on Windows.
 *
 * Rust's standard library (1.78 and later) imports ProcessPrng from bcryptprimitives.dll, which every
 * Windows 10 and later has. Wine added that DLL in 8.x after 8.0, so under Debian 12's Wine 8.0 every Rust
 * .exe (paydesk.exe and the test binaries) fails to start with status 0xc0000135. This one-function DLL,
 * copied into a Wine prefix's system32 by wine-prefix.sh, supplies it on top of Wine's BCryptGenRandom.
 *
 * Built by wine-prefix.sh: x86_64-w64-mingw32-gcc -O2 -shared -o bcryptprimitives.dll THIS_FILE -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
