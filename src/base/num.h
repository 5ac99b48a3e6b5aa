/* num.h: strict decimal parsing of untrusted bytes, with memcached's accept
 * rules (C's strto* family as memcached's safe_strto* wrap it: leading
 * white space and a sign are allowed, the number must end the token or be
 * followed by white space) but with explicit bounds instead of silent
 * narrowing. Inputs are (pointer, length): nothing is read past len. */
#ifndef HC_BASE_NUM_H
#define HC_BASE_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* memcached's safe_strtoull: unsigned 64-bit. A result of 2^63 or more is
 * refused when a '-' appears anywhere in [s, s + len), as its strchr does:
 * "-0" is 0, "-1" is refused, and so is "18446744073709551615\t-" (a blank
 * may follow the digits; a '-' past it still counts). Pass the whole word. */
bool num_parse_u64(const char *s, size_t len, uint64_t *out);

/* Unsigned 32-bit (flags): as num_parse_u64, rejecting values >= 2^32. */
bool num_parse_u32(const char *s, size_t len, uint32_t *out);

/* memcached's safe_strtol, rejecting values outside int32. */
bool num_parse_i32(const char *s, size_t len, int32_t *out);

/* Writes v in decimal to buf (at least 21 bytes); returns the length. */
size_t num_format_u64(uint64_t v, char *buf);

#endif
