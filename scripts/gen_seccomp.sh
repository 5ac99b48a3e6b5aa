#!/bin/sh
# gen_seccomp.sh POLICY OUT [ARRAY]: compiles a reviewed syscall allowlist
# (policy/seccomp.policy for the daemon, policy/reader.policy for the file
# reader) into a C header of rule rows, the array ARRAY (default
# seccomp_policy) of struct seccomp_rule, for the one file that loads it.
# It trusts nothing in the policy: a line without a "# why", a malformed
# name, condition or action fails the build with file:line. Names become
# SCMP_SYS(name) and constants stay C identifiers, and each row carries a
# #line directive, so an unknown syscall or constant is a compile error that
# points at the policy line. $PID and $EXITFILE stay placeholders that
# src/sec/seccomp.c fills at install time. The header is written only when
# all lines pass.
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 POLICY OUT.h [ARRAY]" >&2
    exit 64
fi
policy=$1
out=$2
array=${3:-seccomp_policy}
case $array in
    [a-z_]*[!a-z0-9_]*|[!a-z_]*) echo "$0: bad array name \"$array\"" >&2; exit 64 ;;
esac
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT INT TERM
mkdir -p "$(dirname "$out")"

awk -v src="$policy" -v array="$array" '
function fail(msg) {
    printf "%s:%d: %s\n", src, NR, msg > "/dev/stderr"
    failed = 1
    exit 1
}
function trim(s) {
    sub(/^[ \t]+/, "", s)
    sub(/[ \t]+$/, "", s)
    return s
}
# A number, a placeholder, or C constants joined by | (O_ACCMODE|O_CREAT).
function value_ok(v) {
    return v ~ /^\$(PID|EXITFILE)$/ || v ~ /^-?[0-9]+$/ || v ~ /^0x[0-9a-fA-F]+$/ || v ~ /^[A-Z_][A-Z0-9_]*(\|[A-Z_][A-Z0-9_]*)*$/
}
function datum(v) {
    return v ~ /^\$/ ? "0" : "(uint64_t)(" v ")"
}
function source(v) {
    return v == "$PID" ? "SECCOMP_VALUE_PID" : v == "$EXITFILE" ? "SECCOMP_VALUE_EXITFILE" : "SECCOMP_VALUE_CONST"
}
# One condition, "aN OP VALUE" or "aN & MASK == VALUE", to a C initializer.
function cond(c,    t, n, arg, op, mask, val) {
    n = split(trim(c), t, /[ \t]+/)
    if (n == 3) {
        arg = t[1]; op = t[2]; mask = "0"; val = t[3]
    } else if (n == 5 && t[2] == "&" && t[4] == "==") {
        arg = t[1]; op = "&=="; mask = t[3]; val = t[5]
        if (!value_ok(mask) || mask ~ /^\$/) {
            fail("bad mask \"" mask "\"")
        }
    } else {
        fail("bad condition \"" trim(c) "\": want aN OP VALUE or aN & MASK == VALUE")
    }
    if (arg !~ /^a[0-5]$/) {
        fail("bad argument \"" arg "\": want a0 to a5")
    }
    if (!(op in ops)) {
        fail("bad operator \"" op "\"")
    }
    if (!value_ok(val)) {
        fail("bad value \"" val "\": want a number, C constants (A or A|B), $PID or $EXITFILE")
    }
    if (val == "$EXITFILE" && op != "==") {
        fail("$EXITFILE is an address: only == compares it")
    }
    return "{ " substr(arg, 2) ", " ops[op] ", " (mask == "0" ? "0" : datum(mask)) ", " \
           datum(val) ", " source(val) " }"
}
BEGIN {
    ops["=="] = "SECCOMP_OP_EQ"; ops["!="] = "SECCOMP_OP_NE"
    ops["<"] = "SECCOMP_OP_LT";  ops["<="] = "SECCOMP_OP_LE"
    ops[">"] = "SECCOMP_OP_GT";  ops[">="] = "SECCOMP_OP_GE"
    ops["&=="] = "SECCOMP_OP_MASKED_EQ"
    maxcond = 4
    rows = 0
}
/^[ \t]*(#|$)/ { next }
{
    hash = index($0, "#")
    if (hash == 0 || trim(substr($0, hash + 1)) == "") {
        fail("every rule needs a \"# why\" comment")
    }
    rule = trim(substr($0, 1, hash - 1))
    sanitizer = 0
    if (substr(rule, 1, 11) == "[sanitizer]") {
        sanitizer = 1
        rule = trim(substr(rule, 12))
    }
    action = "0"
    arrow = index(rule, "=>")
    if (arrow > 0) {
        act = trim(substr(rule, arrow + 2))
        rule = trim(substr(rule, 1, arrow - 1))
        if (act !~ /^errno\(E[A-Z0-9]+\)$/) {
            fail("bad action \"" act "\": want errno(ECODE)")
        }
        action = substr(act, 7, length(act) - 7)
    }
    name = rule
    conds = ""
    sp = match(rule, /[ \t]/)
    if (sp > 0) {
        name = substr(rule, 1, sp - 1)
        conds = trim(substr(rule, sp + 1))
    }
    if (name !~ /^[a-z_][a-z0-9_]*$/) {
        fail("bad syscall name \"" name "\"")
    }
    # A rule without conditions would make other rules for the same call
    # meaningless, and one call cannot be both allowed and denied.
    if ((name in plain) || (conds == "" && (name in seen))) {
        fail(name " has an unconditional rule and another rule")
    }
    if ((name in act_of) && act_of[name] != action) {
        fail(name " has rules with different actions")
    }
    seen[name] = 1
    act_of[name] = action
    if (conds == "") {
        plain[name] = 1
    }
    nc = 0
    init = ""
    if (conds != "") {
        nc = split(conds, parts, /,/)
        if (nc > maxcond) {
            fail("at most " maxcond " conditions a rule")
        }
        for (i = 1; i <= nc; i++) {
            init = init (i > 1 ? ", " : "") cond(parts[i])
        }
    }
    if (init == "") {
        init = "{ 0 }"
    }
    rows++
    row = sprintf("#line %d \"%s\"\n    { SCMP_SYS(%s), \"%s\", %d, %s, %d, { %s } },\n", \
                  NR, src, name, name, NR, action, nc, init)
    body = body (sanitizer ? "#if SECCOMP_SANITIZER_BUILD\n" row "#endif\n" : row)
}
END {
    if (failed) {
        exit 1
    }
    if (rows == 0) {
        printf "%s: no rules\n", src > "/dev/stderr"
        exit 1
    }
    print "/* Generated by scripts/gen_seccomp.sh from " src ": do not edit. Included"
    print " * once, by the file that loads it, after struct seccomp_rule is declared. */"
    print "#include <errno.h>"
    print "#include <fcntl.h>"
    print "#include <linux/futex.h>"
    print "#include <netinet/in.h>"
    print "#include <netinet/tcp.h>"
    print "#include <sys/mman.h>"
    print "#include <sys/resource.h>"
    print "#include <sys/socket.h>"
    print ""
    print "/* [sanitizer] rows: only in an ASan build, for the calls of its runtime. */"
    print "#if defined(__SANITIZE_ADDRESS__)"
    print "#define SECCOMP_SANITIZER_BUILD 1"
    print "#elif defined(__has_feature)"
    print "#if __has_feature(address_sanitizer)"
    print "#define SECCOMP_SANITIZER_BUILD 1"
    print "#endif"
    print "#endif"
    print "#ifndef SECCOMP_SANITIZER_BUILD"
    print "#define SECCOMP_SANITIZER_BUILD 0"
    print "#endif"
    print ""
    print "static const struct seccomp_rule " array "[] = {"
    printf "%s", body
    print "};"
}
' "$policy" > "$tmp"
mv "$tmp" "$out"
trap - EXIT INT TERM
