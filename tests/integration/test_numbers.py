"""Numbers in command lines: non-numeric, negative and overflowing flags,
exptime, length, cas unique and deltas get memcached's exact error line, and
the connection is served on. Value length mismatches (bad data chunk).

A malformed storage line that still declares a valid length carries a data
block. 1.6.18 parses that block as commands; current upstream (and SPEC §4)
swallows it. The shared tests send SILENT_BLOCK (see itest.py) so they hold on
both; the @deliberate_difference tests check the swallowing itself."""
import unittest

from itest import SILENT_BLOCK, ServerTest, deliberate_difference
from wire import (BAD_CHUNK, BAD_DELTA, BAD_EXPTIME, BAD_FORMAT, END, ERROR, EXISTS, NOT_FOUND,
                  STORED, storage, value_reply)

U64_OVER = b"18446744073709551616"      # 2^64
HUGE = b"99999999999999999999"          # > 2^64


class MalformedStorageLine(ServerTest):

    def setUp(self):
        super().setUp()
        self.kb = self.key().encode()
        self.assertReply(storage("set", self.kb, "old", 3), STORED)

    def bad_line(self, flags=b"0", exptime=b"0", length=None, cas=None, verb=b"set"):
        """A storage line with the given raw tokens, followed by SILENT_BLOCK."""
        if length is None:
            length = b"%d" % len(SILENT_BLOCK)
        line = b"%s %s %s %s %s" % (verb, self.kb, flags, exptime, length)
        if cas is not None:
            line += b" " + cas
        return line + b"\r\n" + SILENT_BLOCK + b"\r\n"

    def assertRejectedKeepsOld(self, data):
        """The error line, exactly; the stored value untouched; connection fine."""
        self.assertReply(data, BAD_FORMAT)
        self.assertReply(b"get %s\r\n" % self.kb, value_reply(self.kb, "old", 3) + END)

    def test_flags_non_numeric(self):
        self.assertRejectedKeepsOld(self.bad_line(flags=b"abc"))

    def test_flags_trailing_garbage(self):
        self.assertRejectedKeepsOld(self.bad_line(flags=b"12x"))

    def test_flags_negative(self):
        self.assertRejectedKeepsOld(self.bad_line(flags=b"-1"))

    def test_flags_overflow_u64(self):
        self.assertRejectedKeepsOld(self.bad_line(flags=HUGE))

    def test_exptime_non_numeric(self):
        self.assertRejectedKeepsOld(self.bad_line(exptime=b"soon"))

    def test_exptime_overflow_u64(self):
        self.assertRejectedKeepsOld(self.bad_line(exptime=HUGE))

    def test_cas_unique_non_numeric(self):
        self.assertRejectedKeepsOld(self.bad_line(verb=b"cas", cas=b"abc"))

    def test_cas_unique_negative(self):
        self.assertRejectedKeepsOld(self.bad_line(verb=b"cas", cas=b"-1"))

    def test_cas_unique_overflow(self):
        self.assertRejectedKeepsOld(self.bad_line(verb=b"cas", cas=U64_OVER))

    def test_add_replace_append_prepend_bad_flags(self):
        for verb in (b"add", b"replace", b"append", b"prepend"):
            with self.subTest(verb=verb):
                self.assertRejectedKeepsOld(self.bad_line(flags=b"x", verb=verb))

    # No valid length, so there is no data block to send or to swallow.

    def test_length_non_numeric(self):
        self.assertRejectedKeepsOld(b"set %s 0 0 abc\r\n" % self.kb)

    def test_length_negative(self):
        self.assertRejectedKeepsOld(b"set %s 0 0 -1\r\n" % self.kb)

    def test_length_overflow_u64(self):
        self.assertRejectedKeepsOld(b"set %s 0 0 %s\r\n" % (self.kb, HUGE))

    # Deliberate differences: follow current upstream memcached.

    @deliberate_difference
    def test_length_2_pow_32_plus_2_rejected(self):
        # 1.6.18 narrows 4294967298 to 2 and reads a 2-byte value
        self.assertRejectedKeepsOld(b"set %s 0 0 4294967298\r\n" % self.kb)

    @deliberate_difference
    def test_flags_2_pow_32_rejected(self):
        # 1.6.18 stores flags 4294967296 as 0
        self.assertRejectedKeepsOld(self.bad_line(flags=b"4294967296"))

    @deliberate_difference
    def test_exptime_above_int32_rejected(self):
        # 1.6.18 wraps 2147483648 negative: the item expires at once
        self.assertRejectedKeepsOld(self.bad_line(exptime=b"2147483648"))

    @deliberate_difference
    def test_exptime_below_int32_rejected(self):
        self.assertRejectedKeepsOld(self.bad_line(exptime=b"-2147483649"))

    @deliberate_difference
    def test_bad_flags_data_block_swallowed(self):
        evil = b"delete " + self.kb
        self.assertRejectedKeepsOld(b"set %s x 0 %d\r\n%s\r\n" % (self.kb, len(evil), evil))

    @deliberate_difference
    def test_bad_exptime_data_block_swallowed(self):
        evil = b"get " + self.kb
        self.assertRejectedKeepsOld(b"set %s 0 x %d\r\n%s\r\n" % (self.kb, len(evil), evil))

    @deliberate_difference
    def test_bad_cas_unique_data_block_swallowed(self):
        evil = b"set %s 0 0 1" % self.kb  # would even start a storage command
        self.assertRejectedKeepsOld(b"cas %s 0 0 %d x\r\n%s\r\n" % (self.kb, len(evil), evil))

    @deliberate_difference
    def test_swallowed_block_may_contain_crlf(self):
        # the block is len+2 bytes, whatever it holds
        evil = b"delete %s\r\ndelete %s" % (self.kb, self.kb)
        self.assertRejectedKeepsOld(b"set %s 0 x %d\r\n%s\r\n" % (self.kb, len(evil), evil))


class NumbersAccepted(ServerTest):

    def test_exptime_int32_max_is_a_future_timestamp(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=2147483647), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_cas_unique_u64_max_accepted(self):
        k = self.key()
        self.assertReply(storage("cas", k, "v", cas=18446744073709551615), NOT_FOUND)
        self.assertReply(storage("set", k, "v"), STORED)
        self.assertReply(storage("cas", k, "w", cas=18446744073709551615), EXISTS)

    def test_zero_length_value(self):
        k = self.key()
        self.assertReply(b"set %s 0 0 0\r\n\r\n" % k.encode(), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), b"VALUE %s 0 0\r\n\r\nEND\r\n" % k.encode())


class DeltaAndExptimeArguments(ServerTest):

    def setUp(self):
        super().setUp()
        self.kb = self.key().encode()
        self.assertReply(storage("set", self.kb, "5"), STORED)

    def assertStillFive(self):
        self.assertReply(b"get %s\r\n" % self.kb, value_reply(self.kb, "5") + END)

    def test_incr_delta_non_numeric(self):
        self.assertReply(b"incr %s one\r\n" % self.kb, BAD_DELTA)
        self.assertStillFive()

    def test_incr_delta_negative(self):
        self.assertReply(b"incr %s -1\r\n" % self.kb, BAD_DELTA)
        self.assertStillFive()

    def test_incr_delta_overflow(self):
        self.assertReply(b"incr %s %s\r\n" % (self.kb, U64_OVER), BAD_DELTA)
        self.assertStillFive()

    def test_decr_delta_invalid(self):
        self.assertReply(b"decr %s x\r\ndecr %s %s\r\ndecr %s -3\r\n"
                         % (self.kb, self.kb, HUGE, self.kb), BAD_DELTA * 3)
        self.assertStillFive()

    def test_delta_checked_before_key_lookup(self):
        self.assertReply(b"incr %snope x\r\n" % self.kb, BAD_DELTA)

    def test_touch_exptime_invalid(self):
        self.assertReply(b"touch %s x\r\ntouch %s %s\r\n" % (self.kb, self.kb, HUGE),
                         BAD_EXPTIME * 2)
        self.assertStillFive()

    def test_gat_exptime_invalid(self):
        self.assertReply(b"gat x %s\r\ngats %s %s\r\n" % (self.kb, HUGE, self.kb),
                         BAD_EXPTIME * 2)
        self.assertStillFive()

    def test_flush_all_delay_invalid(self):
        self.assertReply(b"flush_all x\r\nflush_all %s\r\n" % HUGE, BAD_EXPTIME * 2)
        self.assertStillFive()

    def test_verbosity_level_invalid(self):
        self.assertReply(b"verbosity x\r\n", BAD_FORMAT)
        self.assertReply(b"verbosity\r\n", ERROR)


class DataLengthMismatch(ServerTest):
    """The value block must be exactly <length> bytes then CRLF. memcached reads
    length+2 bytes, answers CLIENT_ERROR bad data chunk, keeps the old value and
    parses what follows those bytes as commands."""

    def setUp(self):
        super().setUp()
        self.kb = self.key().encode()
        self.assertReply(storage("set", self.kb, "old"), STORED)

    def test_data_longer_than_declared(self):
        # reads "abc" (1+2 bytes): bad chunk; the CRLF left over is an empty line
        self.assertReply(b"set %s 0 0 1\r\nabc\r\n" % self.kb, BAD_CHUNK + ERROR)
        self.assertReply(b"get %s\r\n" % self.kb, value_reply(self.kb, "old") + END)

    def test_data_shorter_than_declared(self):
        # reads "a\r\nge" (3+2 bytes) of the next command; "t <key>" is unknown
        self.assertReply(b"set %s 0 0 3\r\na\r\nget %s\r\n" % (self.kb, self.kb),
                         BAD_CHUNK + ERROR)
        self.assertReply(b"get %s\r\n" % self.kb, value_reply(self.kb, "old") + END)

    def test_data_without_crlf_terminator(self):
        self.assertReply(b"set %s 0 0 3\r\nabcXY" % self.kb, BAD_CHUNK)
        self.assertReply(b"get %s\r\n" % self.kb, value_reply(self.kb, "old") + END)

    def test_bad_chunk_with_noreply(self):
        # the error line is suppressed by noreply; the leftover CRLF is not a
        # noreply command, so it still gets its ERROR
        self.assertReply(b"set %s 0 0 1 noreply\r\nabc\r\n" % self.kb, ERROR)
        self.assertReply(b"get %s\r\n" % self.kb, value_reply(self.kb, "old") + END)

    def test_cas_bad_chunk_keeps_value(self):
        self.assertReply(b"cas %s 0 0 1 1\r\nxyz\r\n" % self.kb, BAD_CHUNK + ERROR)
        self.assertReply(b"get %s\r\n" % self.kb, value_reply(self.kb, "old") + END)


if __name__ == "__main__":
    unittest.main()
