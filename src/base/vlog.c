/* vlog.c: see vlog.h. Formats into a stack buffer and writes it in one
 * call; no allocation, and only write(2) under the seccomp filter. */
#include "base/vlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Atomic unsigned vlog_current;
static _Atomic unsigned vlog_ceiling;

static unsigned clamp(unsigned level, unsigned max)
{
    return level < max ? level : max;
}

void vlog_init(unsigned level)
{
    level = clamp(level, VLOG_MAX);
    atomic_store(&vlog_ceiling, level);
    atomic_store(&vlog_current, level);
}

void vlog_set(unsigned level)
{
    atomic_store(&vlog_current, clamp(level, atomic_load(&vlog_ceiling)));
}

size_t vlog_escape(const char *p, size_t n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        bool plain = ch >= 0x20 && ch < 0x7f && ch != '\\';
        size_t need = plain ? 1 : 4;
        if (o + need > outlen - 1) {
            break;
        }
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return o;
}

static void write_line(const char *line, size_t n)
{
    fwrite(line, 1, n, stderr);
}

void vlog_traffic(int id, char dir, const char *p, size_t n)
{
    char line[32 + 4 * VLOG_SHOW_MAX + 8];
    int head = snprintf(line, sizeof(line), "%c%d ", dir, id);
    if (head < 0) {
        return;
    }
    size_t shown = n < VLOG_SHOW_MAX ? n : VLOG_SHOW_MAX;
    size_t o = (size_t)head;
    o += vlog_escape(p, shown, line + o, sizeof(line) - o - 5);
    if (shown < n) {
        memcpy(line + o, "...", 3);
        o += 3;
    }
    line[o++] = '\n';
    write_line(line, o);
}

void vlog_conn(int id, const char *fmt, ...)
{
    char line[512];
    int head = snprintf(line, sizeof(line), "<%d ", id);
    if (head < 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
    va_end(ap);
    if (body < 0) {
        return;
    }
    size_t o = (size_t)head + (size_t)body;
    if (o > sizeof(line) - 2) {
        o = sizeof(line) - 2;
    }
    line[o++] = '\n';
    write_line(line, o);
}
