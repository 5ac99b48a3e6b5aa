# hardcached: one plain Makefile. Sources are found by folder; every object,
# generated file and test binary goes under build/ (never committed).

CC       ?= gcc
PKGS     := libevent libxxhash libseccomp libcap openssl
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -fno-strict-overflow
CFLAGS   ?= -O2 -g
# CFLAGS/LDFLAGS stay the caller's (e.g. the sanitizer build); ours are added.
ALL_CFLAGS  = $(WARN) $(HARDEN) -D_GNU_SOURCE -Isrc -I$(GEN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack $(LDFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

BUILD    ?= build
SRCS     := $(sort $(wildcard src/*/*.c))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
BIN      := $(BUILD)/hardcached
GEN      := $(BUILD)/gen
SECCOMP_H := $(GEN)/sec/seccomp_policy.h

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

PREFIX   ?= /usr/local
PORT     ?= 11211

GENMAN    := $(BUILD)/tools/genman
MAN_PAGES := $(BUILD)/man/hardcached.8 $(BUILD)/man/hardcached.conf.5

BENCH_OUT := $(abspath $(BUILD))/bench

.PHONY: all deps run test unit bench bench-programs fuzz soak man install clean

all: $(BIN) $(MAN_PAGES)

deps:
	@scripts/deps.sh build

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The seccomp allowlist is reviewed data, compiled in: a line without its
# "# why" fails here, an unknown syscall name fails the compile.
$(SECCOMP_H): policy/seccomp.policy scripts/gen_seccomp.sh
	scripts/gen_seccomp.sh $< $@

$(BUILD)/src/sec/seccomp.o: $(SECCOMP_H)

# The file reader's own filter (src/sec/reader.c), from a second reviewed policy.
$(GEN)/sec/reader_policy.h: policy/reader.policy scripts/gen_seccomp.sh
	scripts/gen_seccomp.sh $< $@ reader_policy

$(BUILD)/src/sec/reader.o: $(GEN)/sec/reader_policy.h

$(BIN): $(OBJS) $(MAIN_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# Man pages come from the same option table as --help: they cannot drift.
$(GENMAN): tools/genman.c $(OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(OBJS) $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/man/hardcached.8: $(GENMAN)
	@mkdir -p $(@D)
	$(GENMAN) 8 > $@.tmp && mv $@.tmp $@

$(BUILD)/man/hardcached.conf.5: $(GENMAN)
	@mkdir -p $(@D)
	$(GENMAN) 5 > $@.tmp && mv $@.tmp $@

man: $(MAN_PAGES)

# PREFIX and DESTDIR honoured; creates the memcache user when installing for real.
install: all
	@scripts/install.sh "$(DESTDIR)" "$(PREFIX)"

$(BUILD)/tests/%: tests/unit/%.c $(OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(OBJS) $(ALL_LDFLAGS) $(LDLIBS) $(CHECK_LIBS)

run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory $(BIN)
	@scripts/ensure-user.sh
	@scripts/run.sh $(BIN) -p $(PORT)

# The whole suite: unit, integration, compatibility; then the same unit and
# integration tests again on an ASan+UBSan build. Last line: N passed, N failed.
# It also builds every program a make target builds, so none can rot unseen:
# the daemon, the man pages (make man), the unit tests (make unit), bench's
# programs (make bench, here only built); tests/run.sh's fuzz smoke builds
# every libFuzzer target (make fuzz), and tests/audit/test_install.py runs
# make install into a temporary DESTDIR.
test:
	@scripts/deps.sh build test
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BINS) $(MAN_PAGES) bench-programs
	@$(MAKE) --no-print-directory BUILD=build/asan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" build/asan/hardcached \
	    $(UNIT_SRCS:tests/unit/%.c=build/asan/tests/%)
	@tests/run.sh

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done

bench:
	@scripts/deps.sh build bench
	@$(MAKE) --no-print-directory $(BIN) bench-programs
	@BENCH_LOADGEN=$(BENCH_OUT)/loadgen bench/run.sh $(BIN)

# bench's programs, built against the daemon's own objects into $(BUILD)/bench.
bench-programs: $(OBJS)
	@$(MAKE) --no-print-directory -C bench DAEMON_OBJS="$(abspath $(OBJS))" OUT="$(BENCH_OUT)"

# libFuzzer targets for every parser, FUZZ_SECONDS each (default 300).
fuzz:
	@scripts/deps.sh build test
	@tests/fuzz/run.sh

# Mixed load with every read checked (SOAK_SECONDS, default 60).
soak:
	@scripts/deps.sh build test
	@$(MAKE) --no-print-directory $(BIN)
	@tests/soak/run.sh

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(MAIN_OBJ:.o=.d)
