"""Framing: multi-get, many commands in one packet, one command split across
packets at every byte boundary, a long multi-get line."""
import random
import socket
import time
import unittest

from itest import ServerTest
from wire import (DELETED, END, NOT_FOUND, NOT_STORED, STORED, TOUCHED, read_get_reply, storage,
                  sync, value_reply)


class MultiGet(ServerTest):

    def test_multi_get_with_missing_keys(self):
        keys = [self.key("%03d" % i) for i in range(60)]
        present = keys[::3]
        self.assertReply(b"".join(storage("set", k, "v" + k, flags=i)
                                  for i, k in enumerate(present)), STORED * len(present))
        expected = b"".join(value_reply(k, "v" + k, present.index(k))
                            for k in keys if k in present) + END
        self.assertReply(b"get " + b" ".join(k.encode() for k in keys) + b"\r\n", expected)

    def test_multi_get_same_key_repeated(self):
        k = self.key()
        self.assertReply(storage("set", k, "x"), STORED)
        self.assertReply(b"get %s %s %s\r\n" % ((k.encode(),) * 3), value_reply(k, "x") * 3 + END)

    def test_multi_gets_all_missing(self):
        self.assertReply(b"gets " + b" ".join(b"%s%d" % (self.key().encode(), i)
                                              for i in range(30)) + b"\r\n", END)

    def test_long_multi_get_line(self):
        # 1000 keys of ~45 bytes: a 46 KB line, far beyond memcached's 2 KB
        # read buffer, which it grows only for get/gets
        prefix = self.key().ljust(40, "_")
        keys = ["%s%05d" % (prefix, i) for i in range(1000)]
        present = set(keys[::7])
        self.assertReply(b"".join(storage("set", k, k[-5:], noreply=True)
                                  for k in keys if k in present), b"")
        self.c.send(b"get " + b" ".join(k.encode() for k in keys) + b"\r\n")
        got = read_get_reply(self.c)
        self.assertEqual([k for k, _, _ in got], [k for k in keys if k in present])
        for k, _, v in got:
            self.assertEqual(v, k[-5:].encode())
        self.assertEqual(sync(self.c), b"")


class Pipelining(ServerTest):

    def test_100_mixed_commands_one_send(self):
        rnd = random.Random(1234)
        k = self.key()
        model = {}
        cmds, expected = [], []
        for i in range(100):
            key = "%s%d" % (k, rnd.randrange(8))
            op = rnd.choice(["set", "add", "get", "incr", "delete", "append", "touch", "gets"])
            if op == "set":
                v = str(rnd.randrange(1, 1000))
                cmds.append(storage("set", key, v))
                expected.append(STORED)
                model[key] = v
            elif op == "add":
                cmds.append(storage("add", key, "1"))
                expected.append(NOT_STORED if key in model else STORED)
                model.setdefault(key, "1")
            elif op == "append":
                cmds.append(storage("append", key, "0"))
                if key in model:
                    model[key] += "0"
                    expected.append(STORED)
                else:
                    expected.append(NOT_STORED)
            elif op == "get":
                cmds.append(b"get %s\r\n" % key.encode())
                expected.append((value_reply(key, model[key]) if key in model else b"") + END)
            elif op == "incr":
                cmds.append(b"incr %s 3\r\n" % key.encode())
                if key in model:
                    model[key] = str(int(model[key]) + 3)
                    expected.append(model[key].encode() + b"\r\n")
                else:
                    expected.append(NOT_FOUND)
            elif op == "delete":
                cmds.append(b"delete %s\r\n" % key.encode())
                expected.append(DELETED if model.pop(key, None) is not None else NOT_FOUND)
            elif op == "touch":
                cmds.append(b"touch %s 100\r\n" % key.encode())
                expected.append(TOUCHED if key in model else NOT_FOUND)
            elif op == "gets":
                # cas values are not modelled: send gets of a never-set key
                cmds.append(b"gets %snever\r\n" % k.encode())
                expected.append(END)
        # values are decimal without leading zeros and only grow (append "0",
        # incr), so no reply depends on incr's space padding
        self.assertEqual(sync(self.c, b"".join(cmds)), b"".join(expected))

    def test_pipeline_sets_and_gets_large(self):
        k = self.key()
        n = 2000
        data = b"".join(storage("set", "%s%d" % (k, i), "v%d" % i) for i in range(n))
        data += b"".join(b"get %s%d\r\n" % (k.encode(), i) for i in range(n))
        want = STORED * n + b"".join(value_reply("%s%d" % (k, i), "v%d" % i) + END
                                     for i in range(n))
        self.c.send(data)
        self.assertEqual(self.c.read_exact(len(want)), want)
        self.assertEqual(sync(self.c), b"")


class SplitPackets(ServerTest):

    def nodelay(self):
        self.c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def seq(self, k):
        kb = k.encode()
        data = (b"set %s 5 0 10\r\n0123\r\n6789\r\n" % kb + b"get %s\r\n" % kb
                + b"incr %sn 1\r\n" % kb)
        want = STORED + value_reply(kb, b"0123\r\n6789", 5) + END + NOT_FOUND
        return data, want

    def test_split_at_every_byte_boundary(self):
        self.nodelay()
        length = len(self.seq(self.key("000"))[0])
        for i in range(1, length):
            data, want = self.seq(self.key("%03d" % i))  # same length for every i
            with self.subTest(split=i):
                self.c.send(data[:i])
                time.sleep(0.01)
                self.c.send(data[i:])
                self.assertEqual(self.c.read_exact(len(want)), want)

    def test_byte_by_byte(self):
        self.nodelay()
        data, want = self.seq(self.key())
        data += b"gets %s\r\n" % self.key().encode()
        for b in data:
            self.c.send(bytes([b]))
            time.sleep(0.002)
        got = self.c.read_exact(len(want))
        self.assertEqual(got, want)
        (key, _, value, _), = read_get_reply(self.c, with_cas=True)
        self.assertEqual((key, value), (self.key(), b"0123\r\n6789"))

    def test_partial_then_other_client_served(self):
        # a half-sent command on one connection does not block another
        self.nodelay()
        self.c.send(b"set %s 0 0 5\r\nab" % self.key().encode())
        with self.server.client() as other:
            self.assertEqual(sync(other, b"get %s\r\n" % self.key().encode()), END)
        self.c.send(b"cde\r\n")
        self.assertEqual(self.c.readline(), STORED)


if __name__ == "__main__":
    unittest.main()
