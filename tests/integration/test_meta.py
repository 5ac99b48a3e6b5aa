"""test_meta.py: the meta commands (mg ms md ma mn me), hardcached beside
Debian's memcached 1.6.18. Every exchange is sent to both servers, in the same
order on servers started together (so their cas values agree), and each answer
must equal memcached's and the bytes 1.6.18 was measured to answer (the tables
below, so a table that goes stale fails on memcached itself). Answers that
carry the clock (t, l, la, exp) are compared allowing one second, as the two
servers tick at different moments. Deliberate differences (SPEC 4: follow
current upstream; docs/COMPATIBILITY.md) run on hardcached only, with
1.6.18's answer in a comment."""
import re
import unittest

import itest
from itest import harness
from wire import stat_int, sync

O33 = b"O" + b"1" * 32                 # an opaque one byte over memcached's 32
K250 = b"k" * 250
K251 = b"k" * 251
FLAGS17 = b" ".join(b"%d" % i for i in range(1, 18))      # 17 flag words: the most
FLAGS18 = FLAGS17 + b" 18"

# name -> [(bytes sent, what 1.6.18 answers)]: no cas value appears in these,
# so they hold whatever ran before.
SAME = {
    "mg_miss": [
        (b"mg mm\r\n", b"EN\r\n"),
        (b"mg mm v\r\n", b"EN\r\n"),
        (b"mg mm O123 kmissing\r\n", b"EN O123 kmm\r\n"),
        (b"mg mm q\r\nmg mm q k\r\nmn\r\n", b"MN\r\n"),
    ],
    "mg_hit": [
        (b"ms mh 3\r\nabc\r\n", b"HD\r\n"),
        (b"mg mh v\r\n", b"VA 3\r\nabc\r\n"),
        (b"mg mh s v f t k h l O1 q\r\n", b"VA 3 s3 f0 t-1 kmh h1 l0 O1\r\nabc\r\n"),
        (b"mg mh q\r\nmg mh u\r\nmg mh P L\r\nmg mh Pxx Lyy v\r\n", b"HD\r\nHD\r\nHD\r\nVA 3\r\nabc\r\n"),
        (b"mg mh vjunk kxyz\r\n", b"VA 3 kmh\r\nabc\r\n"),
        (b"ms mh2 4 F7\r\na\r\nb\r\nmg mh2 v f s\r\n", b"HD\r\nVA 4 f7 s4\r\na\r\nb\r\n"),
    ],
    "mg_errors": [
        (b"mg\r\n", b"ERROR\r\n"),
        (b"mx ke\r\n", b"ERROR\r\n"),
        (b"mg ke E\r\n", b"CLIENT_ERROR invalid flag\r\n"),
        (b"mg ke x\r\n", b"CLIENT_ERROR invalid flag\r\n"),
        (b"mg ke v v\r\n", b"CLIENT_ERROR duplicate flag\r\n"),
        (b"mg ke \x7f\r\n", b"CLIENT_ERROR duplicate flag\r\n"),
        (b"mg ke \xc3\r\n", b"CLIENT_ERROR duplicate flag\r\n"),
        (b"mg ke P Pa\r\n", b"CLIENT_ERROR duplicate flag\r\n"),
        (b"mg ke Nabc\r\n", b"CLIENT_ERROR bad token in command line format\r\n"),
        (b"mg ke T\r\n", b"CLIENT_ERROR bad token in command line format\r\n"),
        (b"mg ke R1x\r\n", b"CLIENT_ERROR bad token in command line format\r\n"),
        (b"mg ke b Tx\r\n", b"CLIENT_ERROR bad token in command line format\r\n"),
        (b"mg ke Tx b\r\n", b"CLIENT_ERROR error decoding key\r\n"),
        (b"mg ke Tx Tx\r\n", b"CLIENT_ERROR duplicate flag\r\n"),
        (b"mg ke " + FLAGS17 + b"\r\n", b"CLIENT_ERROR invalid flag\r\n"),
        (b"mg ke " + FLAGS18 + b"\r\n", b"CLIENT_ERROR options flags are too long\r\n"),
        (b"mg ke " + FLAGS18 + b" 19 20 21 22 23 24 25\r\n",
         b"CLIENT_ERROR options flags are too long\r\n"),
        (b"mg " + K251 + b" v\r\n", b"CLIENT_ERROR bad command line format\r\n"),
        (b"mg " + K250 + b" v\r\n", b"EN\r\n"),
    ],
    "mg_opaque": [
        (b"mg om q " + O33 + b"\r\n", b"CLIENT_ERROR opaque token too long\r\n"),
        (b"ms oe 1 T100\r\nx\r\n", b"HD\r\n"),
        # the T took effect before the opaque was refused
        (b"mg oe T30 " + O33 + b"\r\nmg oe t\r\n", b"CLIENT_ERROR opaque token too long\r\nHD t30\r\n"),
        (b"mg oe v O1234567890123456789012345678901\r\n",
         b"VA 1 O1234567890123456789012345678901\r\nx\r\n"),
        # refused after the fetch: without N T R l h it was bumped (h1), as
        # with a flag before the O; with them it was locked and is not; u never
        (b"ms of 1\r\nx\r\nmg of v " + O33 + b"\r\nmg of h\r\n",
         b"HD\r\nCLIENT_ERROR opaque token too long\r\nHD h1\r\n"),
        (b"ms of2 1\r\nx\r\nmg of2 k s q " + O33 + b"\r\nmg of2 h\r\n",
         b"HD\r\nCLIENT_ERROR opaque token too long\r\nHD h1\r\n"),
        (b"ms ol 1\r\nx\r\nmg ol h " + O33 + b"\r\nmg ol " + O33 + b" l\r\nmg ol R30 " + O33
         + b"\r\nmg ol u " + O33 + b"\r\nmg ol h\r\n",
         b"HD\r\n" + 4 * b"CLIENT_ERROR opaque token too long\r\n" + b"HD h0\r\n"),
        # N made the item either way; its TTL only when before the O
        (b"mg on N0 " + O33 + b"\r\nmg on s v h\r\nmg on2 " + O33 + b" N0\r\nmg on2 s h\r\n",
         b"CLIENT_ERROR opaque token too long\r\nVA 0 s0 h0\r\n\r\n"
         b"CLIENT_ERROR opaque token too long\r\nHD s0 h0\r\n"),
    ],
    "mg_nul_and_cr": [
        (b"ms nc 1\r\nx\r\n", b"HD\r\n"),
        (b"mg nc v\x00 junk\r\n", b"VA 1\r\nx\r\n"),
        (b"mg nc v\r\r\n", b"VA 1\r\nx\r\n"),
        (b"mg nc T5\r t\r\n", b"HD t5\r\n"),
    ],
    "base64": [
        (b"ms Zm9v 3 k O9 b\r\nabc\r\n", b"HD kZm9v b O9\r\n"),
        (b"mg Zm9v b k v\r\nmg foo k\r\nmg Zm9v! b k\r\n",
         b"VA 3 kZm9v b\r\nabc\r\nHD kZm9v b\r\nHD kZm9v b\r\n"),
        (b"ms abc 1\r\nx\r\nmg YWJj b k\r\nmg ..YW..Jj.. b k\r\n", b"HD\r\nHD kabc\r\nHD kabc\r\n"),
        (b"mg YQ== b k\r\nmg =AAA b k\r\nmg AA=A b k\r\nmg YWJjZA==YWJj b k\r\n",
         b"EN kYQ== b\r\nEN kAAA= b\r\nEN kAAA= b\r\nEN kYWJjZA== b\r\n"),
        (b"mg YQ b k\r\nmg A=== b k\r\nmg ==== b k\r\nmg foo2 b\r\n",
         b"CLIENT_ERROR error decoding key\r\nCLIENT_ERROR error decoding key\r\n"
         b"CLIENT_ERROR error decoding key\r\nEN\r\n"),
        (b"ms YSBi 1 b k\r\nx\r\nmg YSBi b k v\r\nmd YSBi b k q\r\nmd YSBi b k q\r\n",
         b"HD kYSBi b\r\nVA 1 kYSBi b\r\nx\r\nNF kYSBi b\r\n"),
        (b"ms YWJj 1 b k ME\r\nx\r\nma YWJj b k\r\n",
         b"NS kYWJj b\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
        (b"me YQ b\r\nme ab b\r\n",
         b"CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"),
    ],
    "ms_errors": [
        (b"ms me 3 S3\r\nabc\r\n", b"CLIENT_ERROR invalid flag\r\n"),
        (b"ms me\r\n", b"CLIENT_ERROR bad command line format\r\n"),
        (b"ms me -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
        # no length it can read: the block runs as a command (both)
        (b"ms me x\r\nabc\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n"),
        (b"ms me 3 v v\r\nabc\r\n", b"CLIENT_ERROR duplicate flag\r\n"),
        (b"ms me 3 MX\r\nabc\r\n", b"CLIENT_ERROR invalid mode for ms M token\r\n"),
        (b"ms me 3 MSS\r\nabc\r\n", b"CLIENT_ERROR incorrect length for M token\r\n"),
        (b"ms me 3 Fx\r\nabc\r\n", b"CLIENT_ERROR bad command line format\r\n"),
        (b"ms me 3 Tx\r\nabc\r\n", b"CLIENT_ERROR bad token in command line format\r\n"),
        (b"ms me 3 Cx\r\nabc\r\n", b"CLIENT_ERROR bad token in command line format\r\n"),
        (b"ms me 3 " + O33 + b" MX\r\nabc\r\n", b"CLIENT_ERROR invalid mode for ms M token\r\n"),
        (b"ms me 3 " + O33 + b"\r\nabc\r\n", b"CLIENT_ERROR opaque token too long\r\n"),
        (b"ms me 1 " + b" ".join(b"%d" % i for i in range(1, 17)) + b"\r\nx\r\n",
         b"CLIENT_ERROR invalid flag\r\n"),
        (b"ms me 3\r\nabcXYmn\r\n", b"CLIENT_ERROR bad data chunk\r\nMN\r\n"),
        (b"ms me 3 q\r\nabcXYmn\r\n", b"CLIENT_ERROR bad data chunk\r\nMN\r\n"),
        (b"ms me 3 c\r\nabcXY", b"CLIENT_ERROR bad data chunk\r\n"),
    ],
    "ms_quiet": [
        (b"ms mq 3 q\r\nabc\r\n", b""),
        (b"ms mq 3 q C99\r\nabc\r\n", b"EX\r\n"),
        (b"ms mq 3 q ME\r\nabc\r\n", b"NS\r\n"),
        (b"ms mq2 1 q MR\r\nx\r\nmn\r\n", b"NS\r\nMN\r\n"),
    ],
    "ms_modes": [
        (b"ms e1 1 T100\r\nx\r\n", b"HD\r\n"),
        (b"ms e1 1 ME\r\nx\r\n", b"NS\r\n"),
        (b"ms e1 1 MR\r\nx\r\n", b"HD\r\n"),
        (b"ms e2 1 MR\r\nx\r\n", b"NS\r\n"),
        (b"ms e2 1 MA\r\nx\r\n", b"NS\r\n"),
        (b"ms e2 1 MS C0\r\nx\r\n", b"NF\r\n"),
        (b"ms e3 1 ME C5\r\nx\r\nms e3 1 ME C5\r\nx\r\n", b"HD\r\nNS\r\n"),
        (b"ms e4 1 MR C5\r\nx\r\n", b"NF\r\n"),
        (b"ms e4 1 MA C5\r\nx\r\n", b"NS\r\n"),
        (b"ms e4 1 MP C5 I\r\nx\r\n", b"NS\r\n"),
        (b"ms e5 1\r\nb\r\nms e5 1 MA\r\nc\r\nms e5 1 MP\r\na\r\nmg e5 v\r\n",
         b"HD\r\nHD\r\nHD\r\nVA 3\r\nabc\r\n"),
        (b"ms e5 1 MA C1\r\nx\r\nmg e5 v\r\n", b"EX\r\nVA 3\r\nabc\r\n"),
        (b"ms e6 1 MR T-1\r\nx\r\nms e6 1 T-1\r\nx\r\nmg e6\r\n", b"NS\r\nHD\r\nEN\r\n"),
    ],
    # a value that cannot be stored takes the old one with it, whatever the mode
    "ms_too_large": [
        (b"ms tl 1\r\nx\r\nms tl 2000000 MA\r\n" + b"y" * 2000000 + b"\r\nmg tl\r\n",
         b"HD\r\nSERVER_ERROR object too large for cache\r\nEN\r\n"),
    ],
    "md": [
        (b"md dd\r\nmd dd q\r\nmd dd q k O1\r\n", b"NF\r\nNF\r\nNF kdd O1\r\n"),
        (b"ms dd 1\r\nx\r\nmd dd q\r\nmg dd\r\n", b"HD\r\nEN\r\n"),
        (b"ms dd 1 T100\r\nx\r\nmd dd T30\r\nmg dd\r\n", b"HD\r\nHD\r\nEN\r\n"),
        (b"md dd x\r\nmd dd v v\r\nmd dd Tx\r\n",
         b"CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
         b"CLIENT_ERROR invalid or duplicate flag\r\n"),
        (b"md dd " + O33 + b"\r\n", b"CLIENT_ERROR opaque token too long\r\n"),
        (b"md dd " + FLAGS18 + b"\r\n", b"CLIENT_ERROR options flags too long\r\n"),
        (b"md " + K251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    ],
    "ma": [
        (b"ma ac\r\nma ac q\r\nmn\r\n", b"NF\r\nNF\r\nMN\r\n"),
        (b"ma ac N0 J10 v t\r\nma ac v\r\nma ac v D5 MD\r\nma ac v D100 M-\r\n",
         b"VA 2 t-1\r\n10\r\nVA 2\r\n11\r\nVA 1\r\n6\r\nVA 1\r\n0\r\n"),
        (b"ma ac v M+ D18446744073709551615\r\nma ac q v\r\nmn\r\n",
         b"VA 20\r\n18446744073709551615\r\nMN\r\n"),
        (b"ma ac MX\r\nma ac Dx\r\nma ac Jx\r\nma ac x\r\nma ac v v\r\nma ac MII\r\n",
         b"CLIENT_ERROR invalid mode for ma M token\r\n" + 5 * b"CLIENT_ERROR invalid or duplicate flag\r\n"),
        (b"ma ac C1 v\r\nma ac O1 k\r\n", b"EX\r\nHD O1 kac\r\n"),
        # q hides a change, not a creation
        (b"ma aq q N0 O5\r\nma aq q O5\r\nmn\r\n", b"HD O5\r\nMN\r\n"),
        # an empty value before the cas, the cas before the number
        (b"ms an 0\r\n\r\nma an C1\r\nms an 2\r\nab\r\nma an C1\r\nma an\r\n",
         b"HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
         b"HD\r\nEX\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
        (b"ms a6 2\r\n 5\r\nma a6 v\r\nmg a6 v\r\n", b"HD\r\nVA 1\r\n6\r\nVA 2\r\n6 \r\n"),
        (b"ms a5 1\r\n5\r\nma a5 " + O33 + b"\r\nmg a5 v\r\n",
         b"HD\r\nCLIENT_ERROR opaque token too long\r\nVA 1\r\n6\r\n"),
        (b"ma aw N100 v t\r\nma aw T0 t\r\n", b"VA 1 t100\r\n0\r\nHD t-1\r\n"),
        (b"ma " + K251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n"),
        (b"ma ac " + FLAGS18 + b"\r\n", b"CLIENT_ERROR options flags too long\r\n"),
    ],
    # safe_strtoull: 2^63 and up with a '-' anywhere in the word (past a tab
    # too) is refused; below 2^63, or without a '-', it is read
    "big_numbers": [
        (b"set nb 0 0 1\r\n5\r\nincr nb 18446744073709551615\t-\r\n",
         b"STORED\r\nCLIENT_ERROR invalid numeric delta argument\r\n"),
        (b"decr nb 9223372036854775808\tz-z\r\ndecr nb 9223372036854775808\t\r\n",
         b"CLIENT_ERROR invalid numeric delta argument\r\n0\r\n"),
        (b"incr nb 9223372036854775807\t-\r\nincr nb 9223372036854775808\tz\r\n",
         b"9223372036854775807\r\n18446744073709551615\r\n"),
        (b"set nb 0 0 22\r\n18446744073709551615 -\r\nincr nb 1\r\n",
         b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
        (b"ms nb 1\r\n5\r\nms nb 1 C9223372036854775808\t-\r\nx\r\n"
         b"ms nb 7 C9223372036854775808\tT-1\r\nabcdefg\r\nmg nb v\r\n",
         b"HD\r\nCLIENT_ERROR bad token in command line format\r\n"
         b"CLIENT_ERROR bad token in command line format\r\nVA 1\r\n5\r\n"),
        (b"md nb C9223372036854775808\t-\r\nma nb C18446744073709551615\t-\r\n"
         b"ma nb D9223372036854775808\tz-z\r\nma nb2 N0 J9223372036854775808\t-\r\n",
         4 * b"CLIENT_ERROR invalid or duplicate flag\r\n"),
        (b"ma nb D9223372036854775808\t v\r\nma nb2 N0 J9223372036854775808\t v\r\n"
         b"md nb C9223372036854775808\tz\r\n",
         b"VA 19\r\n9223372036854775813\r\nVA 19\r\n9223372036854775808\r\nEX\r\n"),
    ],
    # an item memcached keeps in chunks (over 512 KiB as it counts: 48 + 8 of
    # cas + key + 1 + 4 of flags when not 0 + value + 2) is not a number to
    # incr, decr or ma, whatever its bytes, before ma's cas is compared
    "chunked": [
        (b"set ck 0 0 600000\r\n7" + b" " * 599999 + b"\r\nincr ck 1\r\ndecr ck 1\r\n",
         b"STORED\r\n" + 2 * b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
        (b"ms ck2 600000\r\n" + b"L" * 600000 + b"\r\nma ck2 C1\r\nma ck2 MD\r\n",
         b"HD\r\n" + 2 * b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
        (b"set cb 0 0 524227\r\n7" + b" " * 524226 + b"\r\nincr cb 1\r\n", b"STORED\r\n8\r\n"),
        (b"set cb 0 0 524228\r\n7" + b" " * 524227 + b"\r\nincr cb 1\r\n",
         b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
        (b"set cb 5 0 524223\r\n7" + b" " * 524222 + b"\r\nincr cb 1\r\n", b"STORED\r\n8\r\n"),
        (b"set cb 5 0 524224\r\n7" + b" " * 524223 + b"\r\nma cb\r\n",
         b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
    ],
    "mn_me": [
        (b"mn\r\nmn x y\r\nmz\r\nm\r\nmgg k\r\n", b"MN\r\nMN\r\nERROR\r\nERROR\r\nERROR\r\n"),
        (b"me\r\nme zz\r\nme zz b\r\n",
         b"CLIENT_ERROR bad command line format\r\nEN\r\nCLIENT_ERROR bad command line format\r\n"),
        (b"me " + K251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n"),
        (b"mn " + FLAGS18 + b" 19 20 21 22 23 24 25\r\n", b"MN\r\n"),
    ],
    "vivify": [
        (b"mg vv N30 s t v\r\nmg vv N30 s t v\r\nmg vv s t v\r\n",
         b"VA 0 s0 t30 W\r\n\r\nVA 0 s0 t30 Z\r\n\r\nVA 0 s0 t30 Z\r\n\r\n"),
        # N sets the TTL where it stands: a t before it sees none
        (b"mg v2 t N30\r\nmg v3 q k O1 N30\r\n", b"HD t-1 W\r\nHD kv3 O1 W\r\n"),
        (b"md vv\r\nmg vv N30 q k O1\r\n", b"HD\r\nHD kvv O1 W\r\n"),
    ],
    "recache": [
        (b"ms r1 1 T100\r\nx\r\nmg r1 R30 t\r\nmg r1 R200 t\r\nmg r1 R200\r\nmg r1\r\n",
         b"HD\r\nHD t100\r\nHD t100 W\r\nHD Z\r\nHD Z\r\n"),
        (b"ms r2 1\r\nx\r\nmg r2 R200\r\n", b"HD\r\nHD\r\n"),
    ],
}

# Run in this order on servers started for it: the cas values are these.
FRESH = [
    (b"ms st 1 T100\r\nx\r\nms st 1 c\r\ny\r\n", b"HD\r\nHD c2\r\n"),
    # an older cas with I: stored, stale, under the old item's TTL (none)
    (b"ms st 1 I C1 c\r\nz\r\nmg st v c t\r\nmg st v\r\n",
     b"HD c3\r\nVA 1 c3 t-1 X W\r\nz\r\nVA 1 Z X\r\nz\r\n"),
    (b"ms st 1 I C0\r\nq\r\nms st 1 I C99\r\nq\r\n", b"EX\r\nEX\r\n"),
    # md I: a fresh cas, and the next reader wins again
    (b"md st I T30\r\nmg st t c v\r\nmg st t v\r\n",
     b"HD\r\nVA 1 t30 c4 X W\r\nz\r\nVA 1 t30 Z X\r\nz\r\n"),
    (b"ms st 1 C99\r\nw\r\nmg st v\r\n", b"EX\r\nVA 1 Z X\r\nz\r\n"),
    (b"mg st c\r\nms st 1 C4\r\nw\r\nmg st v c\r\n", b"HD c4 Z X\r\nHD\r\nVA 1 c5\r\nw\r\n"),
    (b"ms cf 3 c k O9\r\nabc\r\n", b"HD c6 kcf O9\r\n"),
    (b"mg cf c\r\n", b"HD c6\r\n"),
    (b"ms cf 1 c ME\r\nx\r\n", b"NS c0\r\n"),
    (b"ms cf 1 c MR\r\nx\r\n", b"HD c7\r\n"),
    (b"ms cf2 1 c MR\r\nx\r\n", b"NS c0\r\n"),
    (b"ms cf2 1 c MS C0\r\nx\r\n", b"NF c0\r\n"),
    (b"ms cf 1 MA C1\r\nx\r\nms cf 1 MA C7 c\r\ny\r\nmg cf v c\r\n", b"EX\r\nHD c8\r\nVA 2 c8\r\nxy\r\n"),
    (b"ms cf 1 MR C1 c\r\nz\r\nms cf 1 MR C8 c\r\nz\r\n", b"EX c0\r\nHD c9\r\n"),
    (b"ma cn N0 J10 v t c\r\nma cn v c\r\nma cn C1\r\nma cn C11 c\r\n",
     b"VA 2 t-1 c10\r\n10\r\nVA 2 c11\r\n11\r\nEX\r\nHD c12\r\n"),
    # a value that grows a digit is a new item, and ma's T is lost (1.6.18)
    (b"ms cw 1 T100\r\n9\r\nma cw T200 t v c\r\nmg cw t c v\r\n",
     b"HD\r\nVA 2 t200 c14\r\n10\r\nVA 2 t100 c14\r\n10\r\n"),
    (b"ms cw2 1 T100\r\n5\r\nma cw2 T200 t v c\r\nmg cw2 t c v\r\n",
     b"HD\r\nVA 1 t200 c16\r\n6\r\nVA 1 t200 c16\r\n6\r\n"),
    (b"mg vv N30 c\r\nmd vv C1\r\nmd vv C17 I\r\nmg vv c\r\n", b"HD c17 W\r\nEX\r\nHD\r\nHD c18 X W\r\n"),
    # me: a key stored with b shows in base64; cls is each server's own class
    # (these small items are in class 1 on both)
    (b"ms Zm9v 3 b\r\nabc\r\nmg Zm9v b\r\nme Zm9v b\r\nme foo\r\n",
     b"HD\r\nHD\r\nME Zm9v exp=-1 la=0 cas=19 fetch=yes cls=1 size=65\r\n"
     b"ME Zm9v exp=-1 la=0 cas=19 fetch=yes cls=1 size=65\r\n"),
    (b"ms me1 3 F1\r\nabc\r\nme me1\r\n", b"HD\r\nME me1 exp=-1 la=0 cas=20 fetch=no cls=1 size=69\r\n"),
    (b"me me1 " + FLAGS18 + b" 19 20 21 22 23 24 25\r\n",
     b"ME me1 exp=-1 la=0 cas=20 fetch=no cls=1 size=69\r\n"),
]

# With -C items hold no cas: every C but an append's finds EXISTS, c shows 0
# (the classic cas command too, measured on 1.6.18).
NO_CAS = [
    (b"ms a 1 c\r\nx\r\nmg a c v\r\n", b"HD c0\r\nVA 1 c0\r\nx\r\n"),
    (b"ms a 1 C0 c\r\ny\r\nms a 1 C5 c\r\ny\r\nmg a v\r\n", b"EX c0\r\nEX c0\r\nVA 1\r\nx\r\n"),
    (b"ms a 1 MA C5\r\nz\r\nmg a v\r\n", b"HD\r\nVA 2\r\nxz\r\n"),
    (b"ms a 1 I C5\r\nw\r\nmg a v\r\n", b"EX\r\nVA 2\r\nxz\r\n"),
    (b"md a C5\r\nmd a C0\r\nmg a v\r\n", b"EX\r\nHD\r\nEN\r\n"),
    (b"ms b 1\r\n1\r\nma b C0 v c\r\nma b C3 v\r\n", b"HD\r\nVA 1 c0\r\n2\r\nEX\r\n"),
    (b"md b I\r\nmg b c\r\nme b\r\n",
     b"HD\r\nHD c0 X W\r\nME b exp=-1 la=0 cas=0 fetch=yes cls=1 size=53\r\n"),
    # no 8 bytes of cas: a value chunks 8 bytes later (key "k", flags 0: 524,236)
    (b"set k 0 0 524236\r\n7" + b" " * 524235 + b"\r\nincr k 1\r\n", b"STORED\r\n8\r\n"),
    (b"set k 0 0 524237\r\n7" + b" " * 524236 + b"\r\nincr k 1\r\n",
     b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
    (b"set cc 0 0 1\r\nx\r\ncas cc 0 0 1 5\r\ny\r\ngets cc\r\ncas cc 0 0 1 0\r\nz\r\n"
     b"cas none 0 0 1 0\r\nz\r\n",
     b"STORED\r\nEXISTS\r\nVALUE cc 0 1 0\r\nx\r\nEND\r\nEXISTS\r\nNOT_FOUND\r\n"),
]

# Deliberate differences: hardcached's answer (1.6.18's in the comment).
HC_ONLY = [
    # 1.6.18: the refused line's block runs as a command: "...format\r\nERROR\r\n"
    (b"ms " + K251 + b" 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    # 1.6.18: "...too long\r\nERROR\r\n"
    (b"ms ho 1 " + FLAGS17 + b"\r\nx\r\n", b"CLIENT_ERROR options flags too long\r\n"),
    # 1.6.18: stores flags 0 ("HD\r\nHD f0\r\n")
    (b"ms ho 1 F4294967296\r\nx\r\nmg ho f\r\n", b"CLIENT_ERROR bad command line format\r\nEN\r\n"),
    # 1.6.18: T2147483648 is -2147483648, expired at once ("HD\r\nEN\r\n")
    (b"ms ho 1 T2147483648\r\nx\r\nmg ho\r\n", b"CLIENT_ERROR bad token in command line format\r\nEN\r\n"),
    (b"mg ho T4294967296\r\n", b"CLIENT_ERROR bad token in command line format\r\n"),
    # 1.6.18: the refused cas's block runs as a command ("...format\r\nMN\r\n")
    (b"cas ho 0 0 2 9223372036854775808\t-\r\nmn\r\n", b"CLIENT_ERROR bad command line format\r\n"),
]


def start_pair(args=("-m", "1024", "-I", "1m")):
    """(memcached 1.6.18, the server under test), started together."""
    ref = harness.Server(args=list(args), reference=True)
    try:
        return ref, itest.start_server(args)
    except Exception:
        ref.stop()
        raise


def run_steps(server, steps):
    """Each step's bytes, then a version sentinel: what came back for each."""
    with server.client() as c:
        return [sync(c, data) for data, _ in steps]


def show(steps):
    return [data if len(data) < 300 else b"<%d bytes>" % len(data) for data, _ in steps]


class MetaBesideMemcached(unittest.TestCase):
    """The same exchanges, the same bytes."""

    @classmethod
    def setUpClass(cls):
        cls.ref, cls.hc = start_pair()

    @classmethod
    def tearDownClass(cls):
        cls.hc.stop()
        cls.ref.stop()

    def test_every_exchange_as_memcached(self):
        for name, steps in SAME.items():
            with self.subTest(name):
                want = [w for _, w in steps]
                ref = run_steps(self.ref, steps)
                self.assertEqual(ref, want, "memcached 1.6.18 itself: %s %r" % (name, show(steps)))
                self.assertEqual(run_steps(self.hc, steps), ref, "%s %r" % (name, show(steps)))

    def test_a_quiet_pipeline_answers_in_order(self):
        """Hits answer, misses do not, mn marks the end; 2000 lines in one send."""
        lines = b"".join(b"mg %s q v k\r\n" % (b"qp%d" % (i % 50) if i % 3 else b"none")
                         for i in range(2000))
        prep = b"".join(b"ms qp%d 2 q\r\nhi\r\n" % i for i in range(50))
        got = []
        for server in (self.ref, self.hc):
            with server.client() as c:
                got.append(sync(c, prep + lines + b"mn\r\n"))
        self.assertTrue(got[0].endswith(b"MN\r\n"))
        self.assertEqual(got[0].count(b"VA 2"), 1333)
        self.assertEqual(got[1], got[0])


class MetaFromFreshServers(unittest.TestCase):
    """Answers holding cas values: a fixed sequence on servers started for it."""

    def test_cas_stale_and_win_sequence(self):
        ref, hc = start_pair()
        try:
            want = [w for _, w in FRESH]
            got_ref = run_steps(ref, FRESH)
            got_hc = run_steps(hc, FRESH)
        finally:
            hc.stop()
            ref.stop()
        for i, (data, _) in enumerate(FRESH):
            with self.subTest(data[:60]):
                self.assertEqual(got_ref[i], want[i], "memcached 1.6.18 itself")
                self.assertEqual(got_hc[i], got_ref[i])


class MetaWithoutCas(unittest.TestCase):
    """-C: no cas values, and cas comparisons as 1.6.18 makes them."""

    def test_no_cas_as_memcached(self):
        ref, hc = start_pair(("-m", "1024", "-I", "1m", "-C"))
        try:
            got_ref = run_steps(ref, NO_CAS)
            got_hc = run_steps(hc, NO_CAS)
        finally:
            hc.stop()
            ref.stop()
        for i, (data, want) in enumerate(NO_CAS):
            with self.subTest(data[:60]):
                self.assertEqual(got_ref[i], want, "memcached 1.6.18 itself")
                self.assertEqual(got_hc[i], got_ref[i])


CLOCKED = re.compile(rb"( [tl]|la=|exp=)(-?\d+)")


def clock_fields(answer):
    """The answer with its clock numbers taken out, and those numbers."""
    return CLOCKED.sub(rb"\1#", answer), [int(m.group(2)) for m in CLOCKED.finditer(answer)]


class MetaAndTheClock(unittest.TestCase):
    """t, l, la and exp count seconds as 1.6.18 does: a read shows the item as
    it was, and moves its last access at most once a minute."""

    @classmethod
    def setUpClass(cls):
        cls.ref, cls.hc = start_pair()

    @classmethod
    def tearDownClass(cls):
        cls.hc.stop()
        cls.ref.stop()

    def assertClose(self, got, ref):
        shape, nums = clock_fields(got)
        ref_shape, ref_nums = clock_fields(ref)
        self.assertEqual(shape, ref_shape)
        for a, b in zip(nums, ref_nums):
            self.assertLessEqual(abs(a - b), 1, (got, ref))

    def test_ttl_and_last_access(self):
        clients = [s.client() for s in (self.ref, self.hc)]
        try:
            for c in clients:
                self.assertEqual(sync(c, b"ms ck 1 T100\r\nx\r\nms ck2 1\r\nx\r\n"), b"HD\r\nHD\r\n")
            # the clock fields must have moved: wait for each server's own clock
            servers = (self.ref, self.hc)
            start = [stat_int(srv, "uptime") for srv in servers]
            harness.wait_until(lambda: all(stat_int(srv, "uptime") >= t + 3
                                           for srv, t in zip(servers, start)),
                               15, "both servers' clocks 3 s past the stores")
            steps = [b"mg ck t l h u\r\n", b"mg ck t l h\r\n", b"mg ck t l h\r\n", b"me ck\r\n",
                     b"mg ck2 t l h v\r\n", b"md ck I T50\r\nmg ck t l c\r\n"]
            for data in steps:
                ref, got = (sync(c, data) for c in clients)
                self.assertClose(got, ref)
            _, nums = clock_fields(sync(clients[0], b"mg ck2 l\r\n"))
            self.assertGreaterEqual(nums[0], 2, "memcached itself: a read within a minute "
                                                "leaves the last access")
        finally:
            for c in clients:
                c.close()


class MetaCounters(unittest.TestCase):
    """stats counts meta commands as memcached does: mg as get (a hit with T
    as touch, a vivified item as a hit), ms as set (with C as cas), md as
    delete (EX as a miss, I as nothing), ma as incr/decr (a creation as
    nothing), and cmd_meta only me."""

    FIELDS = ("cmd_get", "cmd_set", "cmd_touch", "cmd_meta", "get_hits", "get_misses",
              "delete_hits", "delete_misses", "incr_hits", "incr_misses", "decr_hits",
              "decr_misses", "cas_hits", "cas_misses", "cas_badval", "touch_hits",
              "touch_misses", "store_too_large", "total_items", "curr_items")
    SEQUENCE = (b"mn\r\nms sk 1\r\nx\r\nmg sk v\r\nmg nokey v\r\nmg sk T30\r\nmg nokey T30\r\n"
                b"mg sk bad\r\nmd sk\r\nmd sk\r\nma n1\r\nma n1 N0\r\nma n1\r\nma n1 MD\r\n"
                b"me n1\r\nme zz\r\nms sk 1 C99\r\nx\r\nms sk 1 MR\r\nx\r\nmg vv1 N30\r\n"
                b"mg vv1 N30\r\nmg vv1 " + O33 + b"\r\nmg vv9 " + O33 + b"\r\nmd vv1 I\r\n"
                b"md vv1 C1\r\nms vv1 2 C1\r\nab\r\nms vv1 2 ME\r\nab\r\nms vv1 2000000\r\n"
                + b"z" * 2000002 + b"ma vv3 N0\r\nma vv3 C1\r\nms vv3 1 MA C1\r\nx\r\n"
                b"ms vv3 1 MA\r\nx\r\nms vv4 1 I C1\r\nx\r\n")
    # measured on 1.6.18
    WANT = {"cmd_get": 6, "cmd_set": 8, "cmd_touch": 1, "cmd_meta": 2, "get_hits": 3,
            "get_misses": 3, "delete_hits": 1, "delete_misses": 2, "incr_hits": 1,
            "incr_misses": 1, "decr_hits": 1, "cas_misses": 2, "cas_badval": 1,
            "touch_hits": 1, "store_too_large": 1, "total_items": 5, "curr_items": 2}

    def delta(self, server):
        before = server.stats()
        with server.client() as c:
            sync(c, self.SEQUENCE)
        after = server.stats()
        return {k: int(after[k]) - int(before[k]) for k in self.FIELDS
                if int(after[k]) != int(before[k])}

    def test_counters_as_memcached(self):
        ref, hc = start_pair()
        try:
            want = self.delta(ref)
            self.assertEqual(want, self.WANT, "memcached 1.6.18 itself")
            self.assertEqual(self.delta(hc), want)
        finally:
            hc.stop()
            ref.stop()


class MetaDeliberateDifferences(unittest.TestCase):
    """Where hardcached follows SPEC 4 rather than 1.6.18 (docs/COMPATIBILITY.md)."""

    @itest.deliberate_difference
    def test_refused_lines_as_upstream(self):
        server = itest.start_server(("-m", "64"))
        try:
            with server.client() as c:
                for data, want in HC_ONLY:
                    with self.subTest(data[:60]):
                        self.assertEqual(sync(c, data), want)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
