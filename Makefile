# Tenace build. Generated files go to build/ only.
#   make          build/tenace, the BPF objects and their skeletons
#   make deps     install the Debian packages the build and tests need
#   make test     deps (when missing) + build + every test, ends "N passed, N failed"
#   make bench    benchmarks -> build/bench.json, a table on stdout, docs/bench.png
#   make demo     the demo (namespaces, real servers, real traffic)
#   make install  PREFIX=/usr/local DESTDIR=

.DELETE_ON_ERROR:
# keep generated skeletons and objects (they are not final targets)
.SECONDARY:
.SUFFIXES:

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
BUILD    := build
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu

# CFLAGS is the user's to override (make CFLAGS=-O0); the project's own flags
# are always added.
CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
            -D_GNU_SOURCE -Iheaders -I$(BUILD) -MMD -MP
LDLIBS   := -lbpf -lelf -lz -ljson-c -lmicrohttpd -lcurl -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -D__BPF__ -Wall -Wextra -Werror -Wno-unused-parameter \
              -I$(ARCH_INC) -Iheaders

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_PROGS := $(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst %,$(BUILD)/%.bpf.o,$(BPF_PROGS))
SKELS     := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))

# user/main.c is the binary's entry point; every other user/*.c is a module.
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRCS))
SAN_OBJS  := $(patsubst user/%.c,$(BUILD)/san/%.o,$(USER_SRCS))

TEST_SRCS := $(wildcard tests/unit/*.c tests/dataplane/*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Unit tests once more without sanitizers: run under valgrind by the tests.
VG_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/vg/%,$(wildcard tests/unit/*.c))

.PHONY: all deps test bench demo install clean check-deps
all: $(BUILD)/tenace $(BUILD)/tenace-san $(BPF_OBJS) $(TEST_BINS) $(VG_BINS)

deps:
	scripts/deps.sh

check-deps:
	@scripts/deps.sh --check || scripts/deps.sh

$(BUILD)/%.tmp.o: bpf/%.bpf.c $(wildcard bpf/*.h) headers/tenace.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: $(BUILD)/%.tmp.o
	$(BPFTOOL) gen object $@ $<

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/obj/%.o: user/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: user/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/libtenace.a: $(USER_OBJS)
	ar rcs $@ $^

$(BUILD)/libtenace-san.a: $(SAN_OBJS)
	ar rcs $@ $^

$(BUILD)/tenace: $(BUILD)/obj/main.o $(BUILD)/libtenace.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The same binary with ASan/UBSan: the integration tests run it.
$(BUILD)/tenace-san: $(BUILD)/san/main.o $(BUILD)/libtenace-san.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/main.o $(BUILD)/san/main.o: user/main.c

# Tests link the sanitized library; cmocka prints TAP.
$(BUILD)/tests/%: tests/%.c $(BUILD)/libtenace-san.a | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -Iuser -Itests -o $@ $< $(BUILD)/libtenace-san.a $(LDLIBS) -lcmocka

# deps first, then the build, then the tests (in that order even with -j)
$(BUILD)/vg/%: tests/unit/%.c $(BUILD)/libtenace.a | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -Itests -o $@ $< $(BUILD)/libtenace.a $(LDLIBS) -lcmocka

test:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
	$(MAKE) all
	scripts/run-tests.sh $(TESTS)

bench:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
	$(MAKE) all
	scripts/bench.sh

demo:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
	$(MAKE) all
	scripts/demo.sh

install: $(BUILD)/tenace $(BUILD)/tenace.bpf.o
	install -D -m 0755 $(BUILD)/tenace $(DESTDIR)$(PREFIX)/sbin/tenace
	install -D -m 0644 $(BUILD)/tenace.bpf.o $(DESTDIR)$(PREFIX)/lib/tenace/tenace.bpf.o
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local|$(PREFIX)|g' scripts/tenace.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/tenace.service
	install -D -m 0644 scripts/tenace.example.json $(DESTDIR)$(PREFIX)/share/tenace/tenace.example.json

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/san/*.d $(BUILD)/tests/*/*.d $(BUILD)/vg/*.d)
