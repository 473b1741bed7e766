/*
 * A stand-in for bcryptprimitives.dll, for running the Windows builds under
 * Debian 12's Wine 8.0 in CI, and nowhere else.
 *
 * Why it exists: Rust's standard library (and the getrandom crate) get their
 * random bytes from ProcessPrng in bcryptprimitives.dll, which every Windows
 * since 10 has. Wine 8.0 lacks that function, so the programs cannot even
 * start there (exit status 53, not a word). This one function, built with
 * the same mingw as the programs and placed beside them, answers from
 * RtlGenRandom (SystemFunction036 in advapi32), which Wine has.
 *
 * When it can go: with a Wine that has ProcessPrng (Wine 9 does), delete
 * this file and its lines in .ci/windows-under-wine.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
