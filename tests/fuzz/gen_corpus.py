#!/usr/bin/env python3
"""gen_corpus.py: writes the seed corpora under tests/fuzz/corpus/ (the files
are committed; rerun this after changing it, then commit what changed).
Seeds are small, readable inputs: every command of the protocol in good and
bad forms, every CLI flag with good and bad values, good and bad CIDRs,
config files. Names say what each seed holds."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- proto ------------------------------------------------------------------
# Header (see fuzz_proto.c): byte 0 knobs, byte 1 = nspec | budget << 4,
# byte 2 repetitions, then nspec chunk bytes (bit7: second connection).

def hdr(knobs=0, budget=2, reps=0, spec=b""):
    # budget: bits 0-1 the -R choice; bit 2 -m 2 MiB; bit 3 -f 2
    return bytes([knobs, len(spec) | (budget << 4), reps]) + spec


K250 = "k" * 250
K251 = "k" * 251
NUMS = ["0", "1", "4294967295", "4294967296", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "-1", "-0", "+5",
        "\t5", "12a", "2147483647", "2147483648", "-2147483648", "-2147483649",
        "2592000", "2592001", " 5", "", "0x10", "1e3", "00000000000000000000001"]

PROTO = {
    "get": "set a 0 0 1\r\nx\r\nget a\r\nget a b c\r\nget missing\r\n",
    "gets": "set a 5 0 3\r\nabc\r\ngets a\r\ngets a a a\r\n",
    "gat": "set a 0 0 1\r\nx\r\ngat 100 a\r\ngat -1 a\r\nget a\r\ngat 0 a b\r\ngat x a\r\ngat 100\r\n",
    "gats": "set a 0 0 1\r\nx\r\ngats 100 a\r\ngats 2592001 a\r\n",
    "bget": "set a 0 0 1\r\nx\r\nbget a\r\n",
    "set": "set a 0 0 5\r\nhello\r\nset a 4294967295 0 0\r\n\r\nget a\r\n",
    "add": "add a 0 0 1\r\nx\r\nadd a 0 0 1\r\ny\r\nget a\r\n",
    "replace": "replace a 0 0 1\r\nx\r\nset a 0 0 1\r\nx\r\nreplace a 1 0 2\r\nyy\r\nget a\r\n",
    "append": "append a 0 0 1\r\nx\r\nset a 0 0 1\r\nx\r\nappend a 0 0 3\r\nyyy\r\nget a\r\n",
    "prepend": "set a 0 0 1\r\nx\r\nprepend a 0 0 2\r\nzz\r\nget a\r\n",
    "cas": "set a 0 0 1\r\nx\r\ngets a\r\ncas a 0 0 1 1\r\ny\r\ncas a 0 0 1 1\r\nz\r\ncas b 0 0 1 5\r\nq\r\ncas a 0 0 1 x\r\nq\r\n",
    "delete": "set a 0 0 1\r\nx\r\ndelete a\r\ndelete a\r\ndelete a 0\r\ndelete a 1\r\ndelete a 0 noreply\r\ndelete a x y z\r\n",
    "incr": "set n 0 0 2\r\n99\r\nincr n 1\r\nincr n 18446744073709551615\r\nincr n -1\r\nincr n x\r\nincr nope 1\r\nget n\r\n",
    "decr": "set n 0 0 3\r\n100\r\ndecr n 1\r\ndecr n 1000\r\ndecr n 18446744073709551616\r\nget n\r\n",
    "incr_wrap": "set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nincr n 5\r\nget n\r\n",
    "incr_nonnum": "set s 0 0 3\r\nabc\r\nincr s 1\r\nset s 0 0 3\r\n 12\r\nincr s 1\r\n",
    "touch": "set a 0 0 1\r\nx\r\ntouch a 100\r\ntouch a -1\r\nget a\r\ntouch b 1\r\ntouch a x\r\n",
    "flush_all": "set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\nflush_all 0\r\nflush_all 10\r\nflush_all -1\r\nflush_all x\r\nflush_all noreply\r\nflush_all 5 noreply\r\n",
    "version": "version\r\nversion x\r\n",
    "verbosity": "verbosity 1\r\nverbosity\r\nverbosity 1 noreply\r\nverbosity x\r\nverbosity 4294967296\r\n",
    "stats": "stats\r\nstats settings\r\nstats items\r\nstats slabs\r\nstats conns\r\nstats reset\r\nstats sizes\r\nstats detail on\r\nstats cachedump 1 1\r\nstats nope\r\n",
    "stats_after_sets": "set a 0 0 1\r\nx\r\nset b 0 0 3000\r\n" + "y" * 3000 + "\r\nget a b\r\nstats items\r\nstats slabs\r\nstats\r\n",
    "quit": "version\r\nquit\r\nversion\r\n",
    "shutdown": "shutdown\r\nshutdown graceful\r\nshutdown x\r\n",
    "noreply_all": "set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\nx\r\nreplace a 0 0 1 noreply\r\ny\r\n"
                   "append a 0 0 1 noreply\r\nz\r\nprepend a 0 0 1 noreply\r\nw\r\ncas a 0 0 1 1 noreply\r\nq\r\n"
                   "incr a 1 noreply\r\ndecr a 1 noreply\r\ntouch a 1 noreply\r\ndelete a noreply\r\n"
                   "flush_all noreply\r\nverbosity 1 noreply\r\nget a\r\n",
    "noreply_bad_data": "set a 0 0 1 noreply\r\nxy\r\nget a\r\n",
    "key_250": "set " + K250 + " 0 0 1\r\nx\r\nget " + K250 + "\r\ndelete " + K250 + "\r\n",
    "key_251": "set " + K251 + " 0 0 1\r\nx\r\nget " + K251 + "\r\nget a " + K251 + "\r\nincr " + K251 + " 1\r\ntouch " + K251 + " 1\r\ndelete " + K251 + "\r\nversion\r\n",
    "control_bytes": "set c\x01\x7f\x1b 0 0 1\r\nx\r\nget c\x01\x7f\x1b\r\nget \t\r\nset \x00 0 0 1\r\nx\r\n",
    "nul_in_line": "set a 0 0 1\r\nx\r\nget a\x00junk\r\nset b\x000 0 1\r\ny\r\nver\x00sion\r\n",
    "length_short": "set b 0 0 1\r\nxyz\r\nget b\r\n",
    "length_long": "set b 0 0 10\r\nxyz\r\nget b\r\nversion\r\n",
    "length_bad": "set f 0 0 -1\r\nx\r\nset f 0 0 4294967298\r\nxy\r\nset f 0 0 2147483647\r\nxx\r\nset f 0 0 2147483646\r\nversion\r\n",
    "bad_tail": "set a 0 0 1\r\nxAB\r\nset a 0 0 1\nx\n\nget a\r\n",
    "malformed_swallow": "set a 0 x 3\r\nget\r\nset b 0 0 3 4 5\r\nget\r\nset a 0 0 3 noreply x\r\nabc\r\n",
    "long_line_3000": "x" * 3000,
    "long_get_line": "get " + " ".join(["k%d" % i for i in range(600)]) + "\r\n",
    "long_set_line": "set " + "a" * 2100 + " 0 0 1\r\nx\r\n",
    "spaces": "   get    a   \r\n  set   a 0   0   1  \r\nx\r\n" + " " * 120 + "get a\r\n",
    "bare_newlines": "\r\n\n\r\r\n \r\nx\r\nGET a\r\n",
    "many_tokens": "get " + " ".join("k%d" % i for i in range(40)) + "\r\nset a b c d e f g h i j k l m n o p q r s t u v w x y z\r\n",
    "pipeline": "set k1 1 0 5\r\nhello\r\nget k1 k2\r\nadd k2 0 0 2 noreply\r\nhi\r\n"
                "gets k2\r\nincr k3 1\r\nset k3 0 0 1\r\n7\r\nincr k3 5\r\ndecr k3 100\r\n"
                "append k1 0 0 1\r\n!\r\nget k1\r\nset bad 0 0 2\r\nabcd\r\ndelete k2\r\n"
                "touch k1 0\r\nflush_all\r\nget k1 k3\r\nversion\r\nquit\r\n",
    "too_large": "set big 0 0 70000\r\n" + "v" * 100 + "\r\nget big\r\n",
    "exptime": "set a 0 1 1\r\nx\r\nset b 0 -1 1\r\nx\r\nset c 0 2592001 1\r\nx\r\nset d 0 1700000100 1\r\nx\r\nget a b c d\r\n",
}


def gen_proto():
    for name, body in PROTO.items():
        write("proto", name, hdr() + body.encode("latin-1"))
    # the same pipeline split in many ways, on one and two connections
    pipe = PROTO["pipeline"].encode()
    write("proto", "split_bytewise", hdr(spec=b"\x01") + pipe)
    write("proto", "split_3_7", hdr(spec=b"\x03\x07") + pipe)
    write("proto", "two_conns", hdr(spec=b"\x10\x90") + pipe)
    write("proto", "two_conns_half_item",
          hdr(spec=b"\x0c\x8f\x08") + b"set a 0 0 4\r\nstats\r\nset a 0 0 4\r\nabcd\r\nxy\r\n")
    write("proto", "budget_1", hdr(budget=0) + pipe)
    write("proto", "partial_drain", hdr(knobs=0x20, budget=1) + pipe)
    # knobs: -M, -C, -F, -A, -I 1k, clock ticks
    write("proto", "no_evictions", hdr(knobs=0x01) + ("set a 0 0 60000\r\n" + "x" * 64).encode())
    write("proto", "no_cas", hdr(knobs=0x02) + b"set a 0 0 1\r\nx\r\ngets a\r\ncas a 0 0 1 0\r\ny\r\n")
    write("proto", "flush_disabled", hdr(knobs=0x04) + b"flush_all\r\nflush_all 0 noreply\r\n")
    write("proto", "shutdown_enabled", hdr(knobs=0x08) + b"shutdown x\r\nshutdown graceful\r\nversion\r\n")
    write("proto", "item_max_1k", hdr(knobs=0x10) + ("set a 0 0 1100\r\n" + "x" * 1100 + "\r\nget a\r\n").encode())
    write("proto", "clock_expiry", hdr(knobs=0x40, spec=b"\x10") +
          b"set a 0 1 1\r\nx\r\nset b 0 3 1\r\ny\r\nflush_all 2\r\nget a b\r\nget a b\r\nget a b\r\ngat 1 b\r\nget b\r\n")
    write("proto", "clock_fast", hdr(knobs=0xc0, spec=b"\x20") +
          b"set a 0 100 1\r\nx\r\ntouch a 50\r\nget a\r\nget a\r\nget a\r\nget a\r\nget a\r\n")
    # repetition: fill memory, evict, output past the high-water mark
    write("proto", "reps_fill", hdr(reps=0xfe) + b"set x 0 0 100 noreply\r\n" + b"z" * 77 + b"\r\n")
    write("proto", "big_get_line", hdr(reps=0xff) + b"get k k k k k k k k ")
    write("proto", "big_junk", hdr(reps=0xff) + b"junk")
    # an append grows v by 4000 bytes per repetition; the gets pass 256 KiB
    write("proto", "high_water_get", hdr(reps=0xfe) + b"add v 0 0 0\r\n\r\nappend v 0 0 4000\r\n" +
          b"x" * 4000 + b"\r\nget v v v v v v v v v v\r\n")
    # -m 2 (two pages): a third class has to take a page from another
    classes = b"".join(b"set c%d 0 0 %d\r\n" % (n, n) + b"y" * n + b"\r\n"
                       for n in (100, 1000, 3000, 6000))
    write("proto", "page_moves", hdr(budget=2 | 4) + classes + b"get c100 c1000 c3000 c6000\r\nstats slabs\r\n")
    write("proto", "page_moves_f2", hdr(budget=2 | 4 | 8) + classes + b"stats items\r\n")
    # numbers in every numeric field
    for i, n in enumerate(NUMS):
        body = ("set n %s 0 1\r\nx\r\nset n 0 %s 1\r\nx\r\nset n 0 0 %s\r\nx\r\n"
                "cas n 0 0 1 %s\r\nx\r\nincr n %s\r\ndecr n %s\r\ntouch n %s\r\n"
                "gat %s n\r\nflush_all %s\r\nverbosity %s\r\nget n\r\n") % ((n,) * 10)
        write("proto", "num_%02d" % i, hdr() + body.encode("latin-1"))


# --- cli ---------------------------------------------------------------------
# argv[1..] separated by NUL bytes (fuzz_cli.c adds argv[0]).

CLI = [
    ["-p", "11211"], ["-p", "0"], ["-p", "65536"], ["-p", "-1"], ["-p", "+5"], ["-p", "12a"],
    ["--port=11212"], ["--port", ""], ["-p"],
    ["-l", "127.0.0.1"], ["-l", "127.0.0.1:11211,[::1]:11212,::1,localhost"],
    ["-l", "[::1"], ["-l", "1.2.3.4:99999"], ["-l", ","], ["-l", "a" * 300],
    ["-l", ",".join(["10.0.0.%d" % i for i in range(20)])],
    ["-s", "/tmp/hc.sock"], ["-s", "/" + "x" * 120], ["-s", ""],
    ["-a", "0700"], ["-a", "777"], ["-a", "0778"], ["-a", "8"], ["-a", "01000"],
    ["-U", "0"], ["-U", "11211"], ["-d"], ["-d", "x"], ["-P", "/run/hc.pid"], ["-P", ""],
    ["-u", "memcache"], ["-u", "root"], ["-u", "x" * 64], ["-u", "bad\x01user"],
    ["-m", "64"], ["-m", "0"], ["-m", "67108864"], ["-m", "67108865"], ["-m", "18446744073709551616"],
    ["-M"], ["-c", "1024"], ["-c", "0"], ["-c", "1048577"], ["-t", "4"], ["-t", "0"], ["-t", "257"],
    ["-R", "20"], ["-R", "0"], ["-R", "10001"], ["-I", "1m"], ["-I", "1k"], ["-I", "1023"],
    ["-I", "2g"], ["-I", "1G"], ["-I", "512k", "-m", "1"], ["-I", "64m", "-m", "64"], ["-I", "1mm"],
    ["-I", "9999999999999999999999k"], ["-f", "1.25"], ["-f", "1"], ["-f", "1.0000001"], ["-f", "100"],
    ["-f", "100.1"], ["-f", "nan"], ["-f", "inf"], ["-f", "1e3"], ["-f", ".5"], ["-f", "2."],
    ["-n", "48"], ["-n", "0"], ["-n", "524288"], ["-n", "600000", "-I", "1m"], ["-C"], ["-b", "1024"],
    ["-b", "0"], ["-A"], ["-F"], ["-k"], ["-r"], ["-v"], ["-vv"], ["-vvv"], ["-vvvv"], ["-v", "-v", "-v", "-v"],
    ["-h"], ["--help"], ["-V"], ["--version"], ["-o", "idle_timeout=30"],
    ["-o", "idle_timeout=30,hashpower=16"], ["-o", "hashpower=11"], ["-o", "hashpower=33"],
    ["-o", "nope=1"], ["-o", "idle_timeout"], ["-o", "=5"], ["-o", ",,"], ["-o", "idle_timeout=1,idle_timeout=2"],
    ["--allow", "10.0.0.0/8"], ["--allow", "10.0.0.1/8"], ["--allow", "10.0.0.0/8,::1/128"], ["--allow", ""],
    ["--allow-file", "/nonexistent"], ["--allow-file", "/dev/null"],
    ["--seccomp=on"], ["--seccomp=log"], ["--seccomp=off"], ["--seccomp=maybe"],
    ["--max-conns-per-ip", "5"], ["--max-conns-per-ip", "-1"], ["--read-timeout", "30"], ["--read-timeout", "0"],
    ["--read-timeout", "x"], ["--config", "/nonexistent"], ["--check-config"], ["--format=json"],
    ["--format=xml"], ["--fail-on=critical"], ["--fail-on=warning"], ["--fail-on=x"],
    ["--config", "/dev/null", "--check-config", "--format=json"], ["--config=/dev/null", "--config=/dev/null"],
    ["-u", "root"], ["--allow", "0.0.0.0/0,::/0", "-l", "0.0.0.0"], ["--memory-limit=1024"], ["--disable-evictions"], ["--disable-evictions=yes"],
    ["--enable-shutdown"], ["--unknown"], ["-x"], ["-"], ["--"], ["--", "-p", "1"], ["stray"],
    ["-p", "1", "stray"], ["--po=5"], ["--p=5"], ["--listen-backlog=5"], ["--max-item-size=2m", "-m", "1"],
    ["-p1", "-m2", "-c3"], ["-dMCAFkr"], ["-Mp", "5"], ["--verbose", "--verbose"],
    # TLS (-Z, -o ssl_*), notls: listeners, -Y, --tls-client-identity
    ["-Z"], ["-Z", "-o", "ssl_chain_cert=/etc/hc/cert.pem"],
    ["-Z", "-o", "ssl_chain_cert=/c,ssl_key=/k,ssl_keyformat=2,ssl_session_cache"],
    ["--enable-ssl", "-o", "ssl_chain_cert=/c", "-o", "ssl_verify_mode=2"],
    ["-Z", "-o", "ssl_chain_cert=/c,ssl_ca_cert=/ca,ssl_verify_mode=3,ssl_min_version=3"],
    ["-o", "ssl_verify_mode=4"], ["-o", "ssl_min_version=0,ssl_ciphers=HIGH:!aNULL"],
    ["-o", "ssl_chain_cert="], ["-o", "ssl_session_cache=yes"], ["-o", "ssl_keyformat=3"],
    ["-l", "notls:127.0.0.1:11212,127.0.0.1:11211"], ["-l", "notls:[::1]:1,notls:h"],
    ["-l", "notls:"], ["-l", "notls:notls:1.2.3.4"], ["-Z", "-l", "notls:0.0.0.0", "-o", "ssl_chain_cert=/c"],
    ["-Y", "/etc/hc/auth"], ["-Y", ""], ["--auth-file=/a", "--auth-fail-limit", "0", "--auth-fail-window", "1"],
    ["--auth-fail-window", "0"],
    ["-Z", "-o", "ssl_chain_cert=/c,ssl_ca_cert=/ca,ssl_verify_mode=2", "--tls-client-identity",
     "dns:app.example,uri:spiffe://example.org/app,cn:client1"],
    ["-Z", "-o", "ssl_chain_cert=/c,ssl_ca_cert=/ca,ssl_verify_mode=2", "--tls-client-identity",
     " cn:Ops Team , dns:A.Example "],
    ["--tls-client-identity", "dns:*.example"], ["--tls-client-identity", "dns:a..b,cn:"],
    ["--tls-client-identity", "dns:10.0.0.1"], ["--tls-client-identity", "uri:spiffe"],
    ["--tls-client-identity", "cn:a,cn:a"], ["--tls-client-identity", "x:y,"],
    ["--tls-client-identity", ",".join("cn:c%d" % i for i in range(33))],
    ["--tls-client-identity", "dns:" + "a" * 64], ["--tls-client-identity", "cn:" + "x" * 256],
    ["--tls-client-identity", "cn:a"], ["-Z", "-o", "ssl_chain_cert=/c", "--tls-client-identity", "cn:a"],
]


def gen_cli():
    for i, args in enumerate(CLI):
        write("cli", "args_%03d" % i, "\0".join(args))


# --- allowlist ----------------------------------------------------------------
# fuzz_allowlist.c: byte 0 mode, then text; see the target for the layout.

CIDRS = [
    "10.0.0.0/8", "192.168.1.7", "192.168.1.7/32", "0.0.0.0/0", "::/0", "::1", "::1/128",
    "2001:db8::/32", "::ffff:10.0.0.0/104", "::ffff:0:0/96", "fe80::/10", "10.0.0.1/8",
    "10.0.0.0/08", "10.0.0.0/33", "::/129", "10.0.0.0/", "/8", "10.0.0", "10.0.0.0.0",
    "256.0.0.0", "1.2.3.4/-1", "1.2.3.4/ 8", " 10.0.0.0/8", "fe80::1%eth0", "::ffff:1.2.3.4",
    "1.2.3.4/32/1", "a" * 70, "2001:db8::/32,10.0.0.0/8", "::/1", "8000::/1", "0.0.0.0/1",
    "128.0.0.0/1", "::/96", "::ffff:0.0.0.0/95", "::fffe:0:0/95", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "255.255.255.255", "0.0.0.0", "1.2.3.4/32", "1.0.0.0/8 ", "0x1.2.3.4", "01.2.3.4",
]

LISTS = [
    "10.0.0.0/8,192.168.0.0/16,::1", " 10.0.0.0/8 , ::1 ", "10.0.0.0/8,,::1", ",", "",
    "10.0.0.0/8,10.0.0.0/9,10.128.0.0/9", "10.0.0.0/9,10.128.0.0/9", "0.0.0.0/1,128.0.0.0/1",
    "::/1,8000::/1", "::/0,0.0.0.0/0", "1.2.3.4,1.2.3.5,1.2.3.6,1.2.3.7", "::ffff:0:0/96,::/97",
    "10.0.0.0/8,bad", "1.1.1.1/32,1.1.1.1/32", "::/96,::ffff:0:0/96,::1:0:0/96",
]


def probes():
    # kind 0: IPv4; kind 1: IPv6; kind 2 (+3k): offset around network k's start
    v4 = [b"\x00" + bytes(a) for a in ([10, 0, 0, 1], [192, 168, 1, 7], [0, 0, 0, 0], [255, 255, 255, 255])]
    v6 = [b"\x01" + bytes(15) + b"\x01", b"\x01" + b"\x20\x01\x0d\xb8" + bytes(12),
          b"\x01" + bytes(10) + b"\xff\xff" + bytes([10, 0, 0, 1]), b"\x01" + b"\xff" * 16]
    rel = [b"\x02\x80\x00\x00\x00", b"\x05\x7f\xff\xff\xff", b"\x08\x80\x00\x01\x00"]
    return b"".join(v4 + v6 + rel)


def gen_allowlist():
    # byte 0 mode: bit0 comma lists, bit1 seal half-way, bit2 format round trip
    for i, c in enumerate(CIDRS):
        write("allowlist", "add_%02d" % i, b"\x04" + c.encode() + b"\x00" + probes())
    write("allowlist", "add_many", b"\x06" + "\n".join(CIDRS).encode() + b"\x00" + probes())
    for i, lst in enumerate(LISTS):
        write("allowlist", "list_%02d" % i, b"\x07" + lst.encode() + b"\n10.0.0.0/8\x00" + probes())


# --- config ------------------------------------------------------------------

CONFIGS = {
    "basic": "port = 11211\nlisten = 127.0.0.1\nmemory-limit = 1024\n",
    "comments": "# comment\n\n   # indented\nport=11212 # trailing\n\t threads\t=\t8\t\n",
    "allow": "allow = 10.0.0.0/8\nallow = ::1/128,192.168.0.0/16\n",
    "flags": "disable-evictions = yes\ndisable-cas = no\nenable-shutdown = true\ndaemon = false\nlock-memory = on\n",
    "unknown": "port = 1\nnope = 2\n",
    "bad_values": "port = 70000\nmemory-limit = -1\nmax-item-size = 1x\n",
    "no_equals": "port 11211\n",
    "empty_value": "port =\n",
    "empty_name": "= 5\n",
    "dup": "port = 1\nport = 2\nlisten = a\nlisten = b\n",
    "crlf": "port = 11211\r\nthreads = 2\r\n",
    "no_final_newline": "port = 11211",
    "nul": "port = 1\x002\n",
    "cli_only": "help = yes\nversion = 1\nextended = idle_timeout=1\n",
    "extended_names": "idle_timeout = 30\nhashpower = 16\n",
    "hardening": "seccomp = log\nmax-conns-per-ip = 4\nread-timeout = 10\nallow-file = /nonexistent\n",
    "config_recursion": "config = /etc/hardcached.conf\ncheck-config = yes\n",
    "long_line": "listen = " + "a" * 5000 + "\n",
    "quotes": "user = \"memcache\"\npidfile = '/run/x'\n",
    "quotes_hash": "unix-socket = \"/tmp/a#b\"  # comment\nuser = 'a b'\n",
    "quote_unterminated": "user = \"memcache\n",
    "quote_trailing": "user = \"a\" b\n",
    "quote_inside": "user = a\"b\n",
    "typo_suggest": "memory_limit = 5\n--port = 1\nm = 5\nprot = 1\n",
    "long_name": "x" * 70 + " = 1\n",
    "set_twice": "port = 1\nthreads = 2\nport = 3\n",
    "crlf_only": "\r\n\r\nport = 1\r\n",
    "verbose": "verbose = 2\nverbose = 9\n",
    "spaces_in_value": "unix-socket = /tmp/a b\nuser = mem cache\n",
    "item_vs_memory": "memory-limit = 1\nmax-item-size = 1m\n",
    "tls": "enable-ssl = yes\nssl_chain_cert = /etc/hc/cert.pem\nssl_key = /etc/hc/key.pem\n"
           "ssl_ca_cert = /etc/hc/ca.pem\nssl_verify_mode = 2\nssl_session_cache = yes\n"
           "ssl_min_version = 3\nssl_keyformat = 1\nssl_ciphers = ECDHE+AESGCM\n"
           "tls-client-identity = dns:app.example, uri:spiffe://example.org/app,cn:c1\n",
    "tls_bad": "enable-ssl = maybe\nssl_verify_mode = 9\nssl_min_version = -1\n"
               "tls-client-identity = dns:*.x\n",
    "tls_without_z": "ssl_chain_cert = /c\nssl_verify_mode = 1\n",
    "notls_listen": "listen = notls:127.0.0.1:11212,10.0.0.1\nlisten = notls:[::1]:1\n",
    "auth": "auth-file = /etc/hc/auth\nauth-fail-limit = 5\nauth-fail-window = 30\n",
    "everything": "\n".join([
        "port = 11211", "listen = 127.0.0.1:11211,[::1]:11212", "unix-socket = /tmp/hc.sock",
        "unix-mask = 0700", "udp-port = 0", "daemon = no", "pidfile = /run/hc.pid", "user = memcache",
        "memory-limit = 64", "disable-evictions = no", "conn-limit = 1024", "threads = 4",
        "max-reqs-per-event = 20", "max-item-size = 1m", "slab-growth-factor = 1.25",
        "slab-min-size = 48", "disable-cas = no", "listen-backlog = 1024", "enable-shutdown = no",
        "disable-flush-all = no", "lock-memory = no", "enable-coredumps = no", "verbose = 0",
        "idle_timeout = 0", "hashpower = 16", "seccomp = on", "max-conns-per-ip = 0",
        "read-timeout = 30"]) + "\n",
}


def gen_config():
    for name, text in CONFIGS.items():
        write("config", name, text)


# --- auth -------------------------------------------------------------------
# Byte 0: the read size for the connection part (1-127, 0 a full 16 KiB read);
# all of the input is also read as a -Y file (see fuzz_auth.c).

LOGIN = "set a 0 0 12\r\nalice secret\r\n"
AUTH = {
    "file_lf": (0, "alice:secret\nbob:hunter2\n"),
    "file_crlf": (0, "alice:secret\r\nbob:hunter2\r\n"),
    "file_colon_in_pass": (0, "alice:a:b:c\n"),
    "file_eight": (0, "".join("u%d:p%d\n" % (i, i) for i in range(8))),
    "file_nine": (0, "".join("u%d:p%d\n" % (i, i) for i in range(9))),
    "file_no_newline": (0, "alice:secret"),
    "file_blank_line": (0, "alice:secret\n\nbob:pw\n"),
    "file_no_colon": (0, "alice\n"),
    "file_empty_parts": (0, ":pw\nalice:\n"),
    "file_spaces": (0, "al ice:pw\nbob:p w\n"),
    "file_cr_nul": (0, "alice:se\rcret\nbob:p\x00w\n"),
    "file_line_255": (0, "alice:" + "p" * 248 + "\n"),
    "file_line_256": (0, "alice:" + "p" * 249 + "\n"),
    "login": (0, LOGIN + "get a\r\nset k 0 0 1\r\nv\r\nget k\r\n"),
    "login_bytewise": (1, LOGIN + "get a\r\n"),
    "login_noreply": (3, "set a 0 0 12 noreply\r\nalice secret\r\nversion\r\n"),
    "login_bob": (7, "set k 1 2 11\r\nbob hunter2\r\nstats\r\n"),
    "refused_commands": (1, "version\r\nstats\r\nquit\r\n\r\nget a\r\nrefresh_certs\r\n"
                            "GET / HTTP/1.1\r\nadd a 0 0 1\r\nSET a 0 0 1\r\n\nx"),
    "batch": (0, "version\r\nversion\r\n" + LOGIN),
    "wrong": (5, "set a 0 0 12\r\nalice secreX\r\nset a 0 0 11\r\nalice secre\r\n"
                 "set a 0 0 10\r\neve secret\r\n" + LOGIN),
    "format": (2, "set a 0 0 5\r\nalice\r\nset a 0 0 0\r\n\r\nset a 0 0 12\r\nalice\tsecret\r\n"),
    "termination": (4, "set a 0 0 12\r\nalice secretXXversion\r\n" + LOGIN),
    "extra_words": (0, "set a 0 0 18\r\n  alice  secret xyz\r\n"),
    "nul": (1, "set a 0 0 12\r\nalice\x00secret\r\nset a 0\x00 0 12\r\n" + LOGIN),
    "numbers": (0, "set a 0 0 +12\r\nalice secret\r\nset a 0 0 \t12\r\r\nalice secret\r\n"),
    "too_long_block": (0, "set a 0 0 1025\r\n" + "x" * 1027),
    "wrapping_length": (0, "set a 0 0 4294967308\r\nalice secret\r\n"),
    "long_line": (0, "x" * 2049),
    "long_get": (0, "get " + "k" * 3000 + "\r\n"),
    "max_block": (0, "set a 0 0 1024\r\nalice secret " + "j" * 1011 + "\r\nversion\r\n"),
    "after_login": (0, LOGIN + LOGIN + "get a\r\n\r\nquit\r\n"),
}


def gen_auth():
    for name, (chunk, body) in AUTH.items():
        write("auth", name, bytes([chunk]) + body.encode("latin-1"))


# --- binary -----------------------------------------------------------------
# fuzz_binary.c: byte 0 knobs (bit0 -M, bit1 -C, bit2 -F, bit3 -I 1k, bit4 partial
# drain, bits5-6 clock step, bit7 -m 64), byte 1 = nspec | budget << 4 | 0x40 -m 2 |
# 0x80 repair, byte 2 repetitions, then nspec chunk bytes (bit7: second connection).
# The harness sends each connection a noop first; the payload is binary packets.

def bhdr(knobs=0, budget=2, reps=0, spec=b"", repair=False):
    return bytes([knobs, len(spec) | (budget << 4) | (0x80 if repair else 0), reps]) + spec


def bp(op, key=b"", ext=b"", val=b"", cas=0, opaque=0, magic=0x80, keylen=None,
       extlen=None, bodylen=None):
    import struct
    kl = len(key) if keylen is None else keylen
    el = len(ext) if extlen is None else extlen
    bl = len(key) + len(ext) + len(val) if bodylen is None else bodylen
    return struct.pack(">BBHBBHIIQ", magic, op, kl, el, 0, 0, bl, opaque, cas) + ext + key + val


def be32(v):
    import struct
    return struct.pack(">I", v)


def setx(flags=0, exp=0):
    return be32(flags) + be32(exp)


def incx(delta=1, initial=0, exp=0):
    import struct
    return struct.pack(">QQI", delta, initial, exp)


B_OPS = {"get": 0x00, "set": 0x01, "add": 0x02, "replace": 0x03, "delete": 0x04,
         "incr": 0x05, "decr": 0x06, "quit": 0x07, "flush": 0x08, "getq": 0x09,
         "noop": 0x0a, "version": 0x0b, "getk": 0x0c, "getkq": 0x0d, "append": 0x0e,
         "prepend": 0x0f, "stat": 0x10, "setq": 0x11, "addq": 0x12, "replaceq": 0x13,
         "deleteq": 0x14, "incrq": 0x15, "decrq": 0x16, "quitq": 0x17, "flushq": 0x18,
         "appendq": 0x19, "prependq": 0x1a, "verbosity": 0x1b, "touch": 0x1c,
         "gat": 0x1d, "gatq": 0x1e, "sasl_list": 0x20, "sasl_auth": 0x21,
         "sasl_step": 0x22, "gatk": 0x23, "gatkq": 0x24}


def b_valid(name, key=b"k", opq=7):
    """One well-formed request of each opcode."""
    op = B_OPS[name]
    if name in ("set", "add", "replace", "setq", "addq", "replaceq"):
        return bp(op, key, setx(5, 0), b"value", opaque=opq)
    if name in ("append", "prepend", "appendq", "prependq"):
        return bp(op, key, val=b"+tail", opaque=opq)
    if name in ("get", "getq", "getk", "getkq", "delete", "deleteq"):
        return bp(op, key, opaque=opq)
    if name in ("incr", "decr", "incrq", "decrq"):
        return bp(op, key, incx(3, 10, 0), opaque=opq)
    if name in ("touch", "gat", "gatq", "gatk", "gatkq"):
        return bp(op, key, be32(100), opaque=opq)
    if name in ("flush", "flushq"):
        return bp(op, opaque=opq)
    if name == "verbosity":
        return bp(op, ext=be32(1), opaque=opq)
    if name == "stat":
        return bp(op, opaque=opq)
    if name in ("sasl_auth", "sasl_step"):
        return bp(op, b"PLAIN", val=b"\0alice\0secret", opaque=opq)
    return bp(op, opaque=opq)


def gen_binary():
    seed = bp(0x01, b"k", setx(1, 0), b"42") + bp(0x01, b"s", setx(0, 0), b"text")
    for name in B_OPS:
        write("binary", "op_" + name, bhdr() + seed + b_valid(name) + b_valid(name, b"missing", 8)
              + bp(0x0a, opaque=9))
    everything = seed + b"".join(b_valid(n, opq=i) for i, n in enumerate(B_OPS)
                                 if n not in ("quit", "quitq"))
    write("binary", "all_ops", bhdr() + everything + bp(0x07, opaque=99))
    write("binary", "all_ops_repair", bhdr(repair=True) + everything)
    write("binary", "all_ops_bytewise", bhdr(spec=b"\x01") + everything)
    write("binary", "all_ops_split_7_23", bhdr(spec=b"\x07\x17") + everything)
    write("binary", "all_ops_two_conns", bhdr(spec=b"\x18\x98") + everything)
    write("binary", "all_ops_budget_1", bhdr(budget=0) + everything)
    write("binary", "all_ops_partial_drain", bhdr(knobs=0x10, budget=1) + everything)
    quiet = b"".join(bp(B_OPS[n], b"q%d" % i, setx(i, 0) if n in ("setq", "addq", "replaceq")
                        else incx(1, 5, 0) if n in ("incrq", "decrq")
                        else be32(0) if n in ("gatq", "gatkq") else b"",
                        b"v" if n in ("setq", "addq", "replaceq", "appendq", "prependq") else b"",
                        opaque=i)
                     for i, n in enumerate(["setq", "getq", "getkq", "addq", "replaceq",
                                            "appendq", "prependq", "incrq", "decrq", "gatq",
                                            "gatkq", "deleteq", "getq", "getkq", "flushq"]))
    write("binary", "quiet_pipeline", bhdr() + quiet + bp(0x0a, opaque=77))
    write("binary", "multiget", bhdr() + seed + b"".join(bp(0x0d, k) for k in
                                                        (b"k", b"x", b"s", b"y", b"k"))
          + bp(0x0c, b"s", opaque=5))
    # cas: set, read its cas, store with a wrong and a zero cas; delete/incr with cas
    write("binary", "cas", bhdr() + seed + bp(0x01, b"k", setx(), b"1", cas=12345)
          + bp(0x01, b"new", setx(), b"1", cas=1) + bp(0x04, b"k", cas=99)
          + bp(0x05, b"k", incx(1, 0, 0), cas=99) + bp(0x0e, b"k", val=b"x", cas=5)
          + bp(0x02, b"k", setx(), b"1", cas=1))
    # incr/decr: initial values, no-create, non-numeric, wrap, big numbers
    write("binary", "arith", bhdr() + seed
          + bp(0x05, b"n", incx(1, 100, 0)) + bp(0x05, b"n", incx(2 ** 64 - 1, 0, 0))
          + bp(0x06, b"n", incx(1000, 0, 0)) + bp(0x05, b"m", incx(1, 0, 0xFFFFFFFF))
          + bp(0x05, b"s", incx(1, 0, 0)) + bp(0x16, b"n", incx(1, 0, 0))
          + bp(0x01, b"w", setx(), b"18446744073709551615") + bp(0x05, b"w", incx(1, 0, 0))
          + bp(0x01, b"p", setx(), b"12 ") + bp(0x05, b"p", incx(1, 0, 0))
          + bp(0x00, b"n"))
    # exptimes and the clock (ticks of 40 s)
    write("binary", "expiry", bhdr(knobs=0x60, spec=b"\x30") + bp(0x01, b"a", setx(0, 1), b"x")
          + bp(0x01, b"b", setx(0, 100), b"y") + bp(0x01, b"c", setx(0, 2592001), b"z")
          + bp(0x01, b"d", setx(0, 0xFFFFFFFF), b"w") + bp(0x1c, b"b", be32(1))
          + bp(0x1d, b"d", be32(30)) + bp(0x00, b"a") + bp(0x00, b"b") + bp(0x00, b"c")
          + bp(0x00, b"d") + bp(0x08, ext=be32(50)) + bp(0x00, b"d") + bp(0x0a))
    # stats
    write("binary", "stats", bhdr() + seed + b"".join(bp(0x10, k, opaque=i) for i, k in enumerate(
        [b"", b"settings", b"items", b"slabs", b"sizes", b"conns", b"detail on", b"detail dump",
         b"detail off", b"detail", b"nope", b"reset", b"settingsX"])))
    # lengths that do not suit the opcode (each closes the connection)
    bad = {
        "get_extras": bp(0x00, b"k", b"1234"), "get_nokey": bp(0x00),
        "get_value": bp(0x00, b"k", val=b"v"), "set_ext4": bp(0x01, b"k", b"1234", b"v"),
        "set_nokey": bp(0x01, b"", setx(), b"v"), "incr_ext8": bp(0x05, b"k", b"12345678"),
        "incr_value": bp(0x05, b"k", incx(), b"v"), "noop_body": bp(0x0a, val=b"x"),
        "version_key": bp(0x0b, b"k"), "quit_ext": bp(0x07, ext=b"1234"),
        "flush_ext8": bp(0x08, ext=b"12345678"), "flush_key": bp(0x08, b"k"),
        "touch_ext0": bp(0x1c, b"k"), "append_ext": bp(0x0e, b"k", b"1234", b"v"),
        "stat_ext": bp(0x10, ext=b"1234"), "delete_value": bp(0x04, b"k", val=b"v"),
        "sasl_list_key": bp(0x20, b"k"), "sasl_auth_nokey": bp(0x21, val=b"x"),
        "key_longer_than_body": bp(0x00, b"kkkk", bodylen=2),
        "key_ext_longer_than_body": bp(0x01, b"k", setx(), bodylen=5),
        "key_251": bp(0x00, b"k" * 251), "key_65535": bp(0x00, b"k" * 65535, bodylen=65535),
        "ext_255": bp(0x00, b"k", b"e" * 255), "bad_magic_00": bp(0x0a, magic=0x00),
        "bad_magic_81": bp(0x0a, magic=0x81), "text_after_binary": b"get k\r\n",
    }
    for name, pkt in bad.items():
        write("binary", "bad_" + name, bhdr() + seed + pkt + bp(0x0a))
    # unknown opcodes (1.6.18 swallows the body length after the extras and key)
    write("binary", "unknown_ops", bhdr() + bp(0x1b, ext=be32(1)) + b"\0" * 4
          + bp(0x40, b"key", b"ext!", b"body") + b"\0" * 7 + bp(0x30) + bp(0xff, val=b"x")
          + bp(0x0a))
    write("binary", "trailing_behind_stat_touch", bhdr() + seed
          + bp(0x10, b"items", bodylen=5 + 24) + bp(0x0a, opaque=1)
          + bp(0x1c, b"k", be32(0), bodylen=5 + 24) + bp(0x0b, opaque=2))
    # truncated: the stream ends inside a header, the key, a value
    for i, cut in enumerate((5, 23, 26, 40)):
        write("binary", "truncated_%d" % i, bhdr() + seed + bp(0x01, b"key", setx(), b"v" * 20)[:cut])
    # sizes: big value, too large (swallowed), body length >= 2^31, a huge swallow
    write("binary", "big_value", bhdr(reps=0xff) + bp(0x11, b"big", setx(), b"B" * 60000)
          + bp(0x09, b"big"))
    write("binary", "too_large_1k", bhdr(knobs=0x08) + bp(0x01, b"big", setx(), b"x" * 1100)
          + bp(0x00, b"big") + bp(0x0e, b"k", val=b"y" * 1100) + bp(0x0a))
    write("binary", "body_2g", bhdr() + bp(0x01, b"k", setx(), bodylen=0x80000009)
          + bp(0x0a) + bp(0x0e, b"k", bodylen=0xFFFFFFFF) + bp(0x0a))
    write("binary", "body_256m", bhdr() + bp(0x01, b"k", setx(), bodylen=0x10000000) + b"x" * 4000)
    # memory: fill with quiet sets (evictions; -M out of memory), pass the high-water mark
    write("binary", "fill", bhdr(reps=0xfe) + bp(0x11, b"x", setx(), b"z" * 3000))
    write("binary", "fill_no_evict", bhdr(knobs=0x01, reps=0xfe) + bp(0x11, b"x", setx(), b"z" * 3000)
          + bp(0x02, b"y", setx(), b"q" * 5000))
    write("binary", "high_water", bhdr(reps=0xfe) + bp(0x02, b"v", setx(), b"")
          + bp(0x0e, b"v", val=b"x" * 4000) + bp(0x00, b"v") * 10)
    write("binary", "page_moves", bhdr(budget=2 | 4) + b"".join(
        bp(0x11, b"c%d" % n, setx(), b"y" * n) for n in (100, 1000, 3000, 6000, 30000))
        + bp(0x10, b"slabs"))
    # knobs: no cas (-C), flush disabled (-F), -I 1k
    write("binary", "no_cas", bhdr(knobs=0x02) + seed + bp(0x00, b"k") + bp(0x01, b"k", setx(), b"2", cas=1))
    write("binary", "flush_disabled", bhdr(knobs=0x04) + seed + bp(0x08) + bp(0x18, ext=be32(5)))
    # -S (byte 2 bit 1; credentials alice:secret, bob:hunter2): logins, then commands
    login = bp(0x21, b"PLAIN", val=b"\0alice\0secret", opaque=1)
    write("binary", "sasl_login", bhdr(reps=0x02) + bp(0x20) + login + seed + bp(0x00, b"k"))
    write("binary", "sasl_login_authzid", bhdr(reps=0x02) + bp(0x21, b"PLAIN",
          val=b"bob\0bob\0hunter2") + seed)
    write("binary", "sasl_wrong", bhdr(reps=0x02) + bp(0x21, b"PLAIN", val=b"\0alice\0secreT")
          + bp(0x21, b"PLAIN", val=b"alice\0secret") + bp(0x21, b"CRAM-MD5", val=b"x")
          + bp(0x22, b"PLAIN", val=b"\0alice\0secret") + login + seed)
    write("binary", "sasl_step_continue", bhdr(reps=0x02) + bp(0x21, b"PLAIN")
          + bp(0x22, b"PLAIN", val=b"\0alice\0secret") + seed)
    write("binary", "sasl_refused_before_login", bhdr(reps=0x02) + bp(0x0b) + bp(0x0a) + seed)
    write("binary", "sasl_mech_too_long", bhdr(reps=0x02) + bp(0x21, b"P" * 40, val=b"x") + login)
    write("binary", "sasl_two_conns", bhdr(reps=0x02, spec=b"\x30\xb0") + login + seed
          + bp(0x00, b"k") * 3)
    # SASL opcodes without -S (Unknown command)
    write("binary", "sasl_off", bhdr() + bp(0x20) + bp(0x21, b"PLAIN", val=b"\0alice\0secret")
          + bp(0x22, b"PLAIN", val=b"x") + bp(0x00, b"k"))


if __name__ == "__main__":
    which = sys.argv[1:] or ["proto", "cli", "allowlist", "config", "auth", "binary"]
    for w in which:
        globals()["gen_" + w]()
