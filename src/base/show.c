/* show.c: see show.h. */
#include "base/show.h"

#include <string.h>

void show_text(const char *in, char *out, size_t outlen)
{
    size_t n = 0, i = 0;
    for (; in[i] != '\0' && i < SHOW_IN_MAX && n + 4 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];
        out[n++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    if (in[i] != '\0' && n + 4 <= outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}
