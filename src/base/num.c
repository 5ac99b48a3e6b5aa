/* num.c: decimal parsing that mirrors the C library's strtoull/strtol accept
 * rules (which memcached's answers depend on) over bounded spans, plus a
 * fast formatter. Overflow is always an error, never a wrapped value. */
#include "base/num.h"

#include <string.h>

static bool num_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Scans [ws][+|-]digits and checks what follows. *neg tells if '-' was seen;
 * *mag is the magnitude. False on no digits, overflow past 2^64-1, or a
 * non-space byte right after the digits. */
static bool num_scan(const char *s, size_t len, bool *neg, uint64_t *mag)
{
    size_t i = 0;
    while (i < len && num_is_space(s[i])) {
        i++;
    }
    *neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        *neg = s[i] == '-';
        i++;
    }
    size_t first_digit = i;
    uint64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
        i++;
    }
    if (i == first_digit) {
        return false;
    }
    if (i < len && !num_is_space(s[i])) {
        return false;
    }
    *mag = v;
    return true;
}

/* safe_strtoull's last test: a result that is negative as a signed number
 * (2^63 and up) is refused when its word holds a '-' anywhere (its strchr
 * runs to the word's end, past the blank that may follow the digits): "-1"
 * and "18446744073709551615\t-" are refused, "-0" and "9223372036854775808\tz"
 * are not. */
bool num_parse_u64(const char *s, size_t len, uint64_t *out)
{
    bool neg;
    uint64_t mag;
    if (!num_scan(s, len, &neg, &mag)) {
        return false;
    }
    uint64_t v = neg ? (uint64_t)0 - mag : mag;
    if ((v >> 63) != 0 && memchr(s, '-', len) != NULL) {
        return false;
    }
    *out = v;
    return true;
}

bool num_parse_u32(const char *s, size_t len, uint32_t *out)
{
    uint64_t v;
    if (!num_parse_u64(s, len, &v) || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool num_parse_i32(const char *s, size_t len, int32_t *out)
{
    bool neg;
    uint64_t mag;
    if (!num_scan(s, len, &neg, &mag)) {
        return false;
    }
    if (neg ? mag > (uint64_t)INT32_MAX + 1 : mag > (uint64_t)INT32_MAX) {
        return false;
    }
    *out = neg ? (int32_t)(0 - (int64_t)mag) : (int32_t)mag;
    return true;
}

size_t num_format_u64(uint64_t v, char *buf)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        buf[i] = tmp[n - 1 - i];
    }
    return n;
}
