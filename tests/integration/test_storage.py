"""Storage and retrieval commands, byte for byte: set add replace append
prepend cas, get gets, delete, noreply on every command that takes it, keys."""
import unittest

from itest import ServerTest, deliberate_difference
from wire import (BAD_FORMAT, DELETED, END, ERROR, EXISTS, NOT_FOUND, NOT_STORED, OK, STORED,
                  TOUCHED, gets, storage, sync, value_reply)


class StorageCommands(ServerTest):

    def test_set_then_get(self):
        k = self.key()
        self.assertReply(storage("set", k, "hello", flags=42), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "hello", 42) + END)

    def test_set_overwrites(self):
        k = self.key()
        self.assertReply(storage("set", k, "one") + storage("set", k, "second", 7), STORED * 2)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "second", 7) + END)

    def test_get_missing_key(self):
        self.assertReply(b"get %s\r\n" % self.key().encode(), END)

    def test_empty_value(self):
        k = self.key()
        self.assertReply(storage("set", k, ""), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), b"VALUE %s 0 0\r\n\r\nEND\r\n" % k.encode())

    def test_binary_value_with_crlf_and_nul(self):
        k = self.key()
        v = b"\x00\r\nEND\r\nVALUE x 0 1\r\n\xff\n\r"
        self.assertReply(storage("set", k, v), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, v) + END)

    def test_large_value_round_trip(self):
        k = self.key()
        v = bytes(range(256)) * 2000  # 512000 bytes, below the default -I 1m
        self.assertReply(storage("set", k, v), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, v) + END)

    def test_flags_max_32bit(self):
        k = self.key()
        self.assertReply(storage("set", k, "x", flags=4294967295), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "x", 4294967295) + END)

    def test_add_new_key_stored(self):
        k = self.key()
        self.assertReply(storage("add", k, "a"), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "a") + END)

    def test_add_existing_key_not_stored(self):
        k = self.key()
        self.assertReply(storage("set", k, "a") + storage("add", k, "b"), STORED + NOT_STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "a") + END)

    def test_replace_missing_key_not_stored(self):
        k = self.key()
        self.assertReply(storage("replace", k, "a"), NOT_STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_replace_existing_key(self):
        k = self.key()
        self.assertReply(storage("set", k, "a", 1) + storage("replace", k, "bb", 2), STORED * 2)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "bb", 2) + END)

    def test_append_prepend_missing_key_not_stored(self):
        k = self.key()
        self.assertReply(storage("append", k, "a") + storage("prepend", k, "a"), NOT_STORED * 2)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_append_prepend_keep_flags(self):
        # append/prepend ignore the flags and exptime they are given
        k = self.key()
        self.assertReply(storage("set", k, "mid", 5) + storage("append", k, "-end", 9)
                         + storage("prepend", k, "start-", 11), STORED * 3)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "start-mid-end", 5) + END)

    def test_gets_returns_cas_and_set_changes_it(self):
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        v, cas1 = gets(self.c, k)
        self.assertEqual(v, b"v")
        self.assertReply(b"gets %s\r\n" % k.encode(), value_reply(k, "v", 0, cas1) + END)
        self.assertReply(storage("set", k, "w"), STORED)
        _, cas2 = gets(self.c, k)
        self.assertNotEqual(cas1, cas2)

    def test_cas_success_then_stale(self):
        k = self.key()
        self.assertReply(storage("set", k, "v1"), STORED)
        _, cas = gets(self.c, k)
        self.assertReply(storage("cas", k, "v2", 3, cas=cas), STORED)
        self.assertReply(storage("cas", k, "v3", cas=cas), EXISTS)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v2", 3) + END)

    def test_cas_wrong_unique_exists(self):
        k = self.key()
        self.assertReply(storage("set", k, "v1"), STORED)
        _, cas = gets(self.c, k)
        self.assertReply(storage("cas", k, "v2", cas=cas + 1000), EXISTS)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v1") + END)

    def test_cas_missing_key_not_found(self):
        k = self.key()
        self.assertReply(storage("cas", k, "v", cas=1), NOT_FOUND)
        self.assertReply(storage("cas", k, "v", cas=18446744073709551615), NOT_FOUND)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_cas_after_delete_not_found(self):
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        _, cas = gets(self.c, k)
        self.assertReply(b"delete %s\r\n" % k.encode(), DELETED)
        self.assertReply(storage("cas", k, "w", cas=cas), NOT_FOUND)

    def test_append_changes_cas(self):
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        _, cas = gets(self.c, k)
        self.assertReply(storage("append", k, "x"), STORED)
        self.assertReply(storage("cas", k, "y", cas=cas), EXISTS)

    def test_delete(self):
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        self.assertReply(b"delete %s\r\n" % k.encode(), DELETED)
        self.assertReply(b"delete %s\r\n" % k.encode(), NOT_FOUND)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_delete_legacy_zero_time(self):
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        self.assertReply(b"delete %s 0\r\n" % k.encode(), DELETED)

    def test_delete_with_time_rejected(self):
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        self.assertReply(b"delete %s 5\r\n" % k.encode(),
                         b"CLIENT_ERROR bad command line format.  "
                         b"Usage: delete <key> [noreply]\r\n")
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_storage_line_wrong_token_count(self):
        k = self.key().encode()
        self.assertReply(b"set %s 0 0\r\n" % k, ERROR)
        self.assertReply(b"set %s\r\n" % k, ERROR)
        self.assertReply(b"get\r\n", ERROR)
        self.assertReply(b"incr %s\r\n" % k, ERROR)

    def test_bare_lf_line_ending(self):
        # memcached accepts "\n" alone as the end of a command line
        k = self.key().encode()
        self.assertReply(b"set %s 0 0 2\nhi\r\nget %s\n" % (k, k),
                         STORED + value_reply(k, "hi") + END)

    def test_multiple_spaces_between_tokens(self):
        k = self.key().encode()
        self.assertReply(b"set  %s   1  0   2 \r\nhi\r\n" % k, STORED)
        self.assertReply(b"  get   %s  \r\n" % k, value_reply(k, "hi", 1) + END)

    def test_command_names_are_case_sensitive(self):
        k = self.key().encode()
        self.assertReply(b"GET %s\r\n" % k, ERROR)


class NoReply(ServerTest):
    """noreply: nothing written back, the next command answered normally."""

    def assertSilent(self, data):
        self.assertEqual(sync(self.c, data), b"")

    def test_set_noreply(self):
        k = self.key()
        self.assertSilent(storage("set", k, "v", noreply=True))
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_add_noreply(self):
        k = self.key()
        self.assertSilent(storage("add", k, "a", noreply=True))
        self.assertSilent(storage("add", k, "b", noreply=True))  # NOT_STORED, silently
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "a") + END)

    def test_replace_noreply(self):
        k = self.key()
        self.assertSilent(storage("replace", k, "a", noreply=True))  # NOT_STORED
        self.assertReply(storage("set", k, "a"), STORED)
        self.assertSilent(storage("replace", k, "b", noreply=True))
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "b") + END)

    def test_append_noreply(self):
        k = self.key()
        self.assertReply(storage("set", k, "a"), STORED)
        self.assertSilent(storage("append", k, "z", noreply=True))
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "az") + END)

    def test_prepend_noreply(self):
        k = self.key()
        self.assertReply(storage("set", k, "a"), STORED)
        self.assertSilent(storage("prepend", k, "z", noreply=True))
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "za") + END)

    def test_cas_noreply(self):
        k = self.key()
        self.assertReply(storage("set", k, "a"), STORED)
        _, cas = gets(self.c, k)
        self.assertSilent(storage("cas", k, "b", cas=cas + 1, noreply=True))  # EXISTS
        self.assertSilent(storage("cas", k + "x", "b", cas=cas, noreply=True))  # NOT_FOUND
        self.assertSilent(storage("cas", k, "c", cas=cas, noreply=True))  # STORED
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "c") + END)

    def test_delete_noreply(self):
        k = self.key()
        self.assertReply(storage("set", k, "a"), STORED)
        self.assertSilent(b"delete %s noreply\r\n" % k.encode())
        self.assertSilent(b"delete %s noreply\r\n" % k.encode())  # NOT_FOUND
        self.assertSilent(b"delete %s 0 noreply\r\n" % k.encode())
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_incr_noreply(self):
        k = self.key()
        self.assertReply(storage("set", k, "10"), STORED)
        self.assertSilent(b"incr %s 5 noreply\r\n" % k.encode())
        self.assertSilent(b"incr %sx 5 noreply\r\n" % k.encode())  # NOT_FOUND
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "15") + END)

    def test_decr_noreply(self):
        k = self.key()
        self.assertReply(storage("set", k, "10"), STORED)
        self.assertSilent(b"decr %s 3 noreply\r\n" % k.encode())
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "7 ") + END)

    def test_touch_noreply(self):
        k = self.key()
        self.assertReply(storage("set", k, "a"), STORED)
        self.assertSilent(b"touch %s 100 noreply\r\n" % k.encode())
        self.assertSilent(b"touch %sx 100 noreply\r\n" % k.encode())  # NOT_FOUND
        self.assertReply(b"touch %s 0\r\n" % k.encode(), TOUCHED)

    def test_flush_all_noreply(self):
        # a server of its own: flush_all would empty the shared one
        from itest import start_server
        with start_server() as s, s.client() as c:
            self.assertEqual(sync(c, storage("set", "a", "1")), STORED)
            self.assertEqual(sync(c, b"flush_all noreply\r\n"), b"")
            self.assertEqual(sync(c, b"get a\r\n"), END)
            self.assertEqual(sync(c, b"flush_all 0 noreply\r\n"), b"")
            self.assertEqual(sync(c, b"flush_all\r\n"), OK)

    def test_verbosity_noreply(self):
        self.assertSilent(b"verbosity 1 noreply\r\n")
        self.assertSilent(b"verbosity 0 noreply\r\n")
        self.assertReply(b"verbosity 0\r\n", OK)

    def test_noreply_suppresses_errors_too(self):
        # memcached sets noreply before parsing the rest, so even the error
        # line of a malformed noreply command is not written
        k = self.key().encode()
        self.assertSilent(b"incr %s x noreply\r\n" % k)
        self.assertSilent(b"touch %s x noreply\r\n" % k)

    def test_mixed_noreply_batch_then_normal(self):
        k = self.key()
        batch = b"".join(storage("set", "%s%d" % (k, i), str(i), noreply=True) for i in range(50))
        batch += b"incr %s7 1 noreply\r\ndelete %s8 noreply\r\n" % (k.encode(), k.encode())
        self.assertSilent(batch)
        self.assertReply(b"get %s7 %s8 %s9\r\n" % (k.encode(), k.encode(), k.encode()),
                         value_reply(k + "7", "8") + value_reply(k + "9", "9") + END)


class Keys(ServerTest):

    def test_key_250_bytes_accepted(self):
        k = ("K%s" % self.k).ljust(250, "x")
        self.assertEqual(len(k), 250)
        self.assertReply(storage("set", k, "v"), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)
        self.assertReply(b"delete %s\r\n" % k.encode(), DELETED)

    def test_get_key_251_bytes_rejected(self):
        k = "y" * 251
        self.assertReply(b"get %s\r\n" % k.encode(), BAD_FORMAT)

    def test_get_multi_with_one_key_too_long(self):
        # the whole reply is the error: values found before it are not sent
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        self.assertReply(b"get %s %s %s\r\n" % (k.encode(), b"z" * 251, k.encode()), BAD_FORMAT)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_set_key_251_bytes_rejected(self):
        # exact error line; connection goes on (SILENT_BLOCK: see itest.py)
        from itest import SILENT_BLOCK
        k = b"s" * 251
        self.assertReply(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(SILENT_BLOCK), SILENT_BLOCK),
                         BAD_FORMAT)
        self.assertReply(b"get %s\r\n" % k[:250], END)

    @deliberate_difference
    def test_set_key_251_bytes_data_block_swallowed(self):
        k = self.key()
        self.assertReply(storage("set", k, "keep"), STORED)
        # the data block looks like a command; it must never run
        evil = b"delete %s" % k.encode()
        self.assertReply(b"set %s 0 0 %d\r\n%s\r\n" % (b"s" * 251, len(evil), evil), BAD_FORMAT)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "keep") + END)

    def test_delete_incr_touch_key_251_rejected(self):
        k = b"d" * 251
        self.assertReply(b"delete %s\r\n" % k, BAD_FORMAT)
        self.assertReply(b"incr %s 1\r\n" % k, BAD_FORMAT)
        self.assertReply(b"decr %s 1\r\n" % k, BAD_FORMAT)
        self.assertReply(b"touch %s 1\r\n" % k, BAD_FORMAT)

    def test_control_bytes_are_key_bytes(self):
        # memcached splits on spaces only: \x01, \x7f and tab belong to the key
        k = self.key().encode() + b"\x01a\x7fb\tc"
        self.assertReply(storage("set", k, "ctl"), STORED)
        self.assertReply(b"get %s\r\n" % k, value_reply(k, "ctl") + END)
        # and they make it a different key from its printable part
        self.assertReply(b"get %s\r\n" % self.key().encode(), END)

    def test_tab_does_not_split_keys(self):
        a, b = self.key("a").encode(), self.key("b").encode()
        self.assertReply(storage("set", a, "1") + storage("set", b, "2"), STORED * 2)
        self.assertReply(b"get %s\t%s\r\n" % (a, b), END)

    def test_high_bytes_in_key(self):
        k = self.key().encode() + "\u00e9\u4e2d".encode() + b"\xff\x80"
        self.assertReply(storage("set", k, "utf"), STORED)
        self.assertReply(b"get %s\r\n" % k, value_reply(k, "utf") + END)


if __name__ == "__main__":
    unittest.main()
