# dmabuffs — user-space dma-buf as a FUSE file system.
#
#   make            build everything into build/
#   make check      install missing Debian deps (as root), build, run all tests
#   make demo       build, then run the end-to-end demonstration
#   make bench      build, then run the benchmarks
#   make SANITIZE=1 check    the same under ASan+UBSan, in build-san/
#   make valgrind-check / fio-check / fuzz   CI's extra jobs (install-deps extra)
#   make kernel-expected   record what Linux 6.12 shows tests/kernel/kexact
#                          (QEMU), and the man section its allow-list makes
#   make install [PREFIX=/usr/local] [DESTDIR=]
#   make clean

# Plain `make` builds; the test and fuzz targets below come before `all`.
.DEFAULT_GOAL := all

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
HEAPDIR ?= $(LIBDIR)/dmabuffs/heaps
UNITDIR ?= $(PREFIX)/lib/systemd/system

VERSION := 0.1.0
CC ?= cc
PKG_CONFIG ?= pkg-config

# make V=1 shows every command.
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

ifeq ($(SANITIZE),1)
B := build-san
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1
else
B := build
SAN :=
OPT := -O2
endif

# Lazily expanded: evaluated after `make deps` has installed them.
FUSE_CFLAGS = $(shell $(PKG_CONFIG) --cflags fuse3 2>/dev/null)
FUSE_LIBS = $(shell $(PKG_CONFIG) --libs fuse3 2>/dev/null)
URING_LIBS = $(shell $(PKG_CONFIG) --libs liburing 2>/dev/null)
JSON_CFLAGS = $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
JSON_LIBS = $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null)
CRITERION_LIBS = $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN) -fPIC -D_GNU_SOURCE \
	-DDMABUFFS_VERSION='"$(VERSION)"' -DDMABUFFS_HEAPDIR='"$(HEAPDIR)"' \
	-Iinclude -Ilib/core -Ilib/util -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN) -pthread

CORE_SRCS := lib/core/log.c lib/core/range.c lib/core/sg.c lib/core/device.c \
	lib/core/heap.c lib/core/buffer.c lib/core/placement.c \
	lib/core/attach.c lib/core/cpu.c lib/core/fence.c lib/core/slots.c \
	lib/core/core.c \
	lib/heaps/system.c lib/heaps/cma.c
CORE_OBJS := $(CORE_SRCS:%.c=$(B)/%.o)
CORE_LIB := $(B)/lib/libdmabufcore.a

LIB_SRCS := lib/libdmabuf/dmabuf.c lib/libdmabuf/channel.c \
	lib/libdmabuf/text.c lib/libdmabuf/fdmsg.c lib/libdmabuf/sanitizer.c lib/libdmabuf/san-fault.c \
	lib/libdmabuf/san-table.c lib/libdmabuf/san-report.c \
	lib/libdmabuf/fastsync.c lib/libdmabuf/redeem.c lib/libdmabuf/fdtable.c
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_A := $(B)/lib/libdmabuf.a
SONAME := libdmabuf.so.0
LIB_SO := $(B)/lib/libdmabuf.so.$(VERSION)

# The compat layer for unmodified programs: an LD_PRELOAD library.
COMPAT_SO := $(B)/lib/libdmabuf-compat.so

# Programs written against the kernel's uapi only (system headers, no
# project header, no libdmabuf), run under dmabufctl run by the tests.
COMPAT_PROG_SRCS := $(wildcard tests/compat/*.c)
COMPAT_PROGS := $(COMPAT_PROG_SRCS:tests/compat/%.c=$(B)/tests/compat/%) \
	$(B)/tests/compat/heap_client-static $(B)/tests/compat/libfakedev.so

# The differential test against a real kernel (tests/kernel/run): the
# system's uapi headers only, like COMPAT_PROGS.
KEXACT := $(B)/tests/kernel/kexact

# Programs linked against libdmabuf.so, as a user's are; never sanitized,
# like the compat layer, so that they may run under it too.
LIB_PROG_SRCS := $(wildcard tests/lib/*.c)
LIB_PROGS := $(LIB_PROG_SRCS:tests/lib/%.c=$(B)/tests/lib/%)
PLAIN_LIB_SO := $(B)/tests/lib/$(SONAME)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(B)/%)
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
INTEG_BINS := $(INTEG_SRCS:%.c=$(B)/%)
BENCH_BINS := $(B)/tests/bench/bench $(B)/tests/bench/floor
TEST_PLUGINS := $(B)/tests/plugins/flaky_heap.so $(B)/tests/plugins/broken_heap.so

DEMO_BIN := $(B)/tools/dmabuf-demo
# The demo's unmodified camera: the kernel's uapi headers only.
COMPAT_CAMERA := $(B)/tools/dmabuf-compat-camera
CTL_BIN := $(B)/tools/dmabufctl
CTL_OBJS := $(addprefix $(B)/tools/,dmabufctl.o ctl-util.o ctl-who.o \
	ctl-admin.o ctl-io.o ctl-run.o)
TOOL_OBJS := $(CTL_OBJS) $(B)/tools/dmabuf-demo.o

FS_SRCS := fs/dmabuffs.c fs/ops.c fs/namespace.c fs/files.c fs/dir.c \
	fs/ioctl.c fs/wait.c fs/xattr.c fs/zerocopy.c fs/tokens.c fs/fdpass.c \
	fs/counters.c fs/virtual.c fs/limits.c fs/decode.c fs/passthrough.c \
	fs/devnodes.c fs/udmabuf.c fs/fences.c fs/staging.c fs/syncslots.c
FS_OBJS := $(FS_SRCS:%.c=$(B)/%.o)
FS_BIN := $(B)/fs/dmabuffs

# The daemon under valgrind (memcheck; any error or definite leak fails).
VALGRIND_SUITES := test_files test_ioctls test_libdmabuf test_limits

valgrind-check: test-deps
	@$(MAKE) -s --no-print-directory build-tests
	@for t in $(VALGRIND_SUITES); do echo "== $$t (daemon under valgrind)"; \
		DMABUF_VALGRIND=1 $(B)/tests/integration/$$t --jobs 1 || exit 1; done

# fio verify jobs (psync, mmap; crc32c) against a fresh mount, passthrough on
# (as root) and off; needs fio.
fio-check: test-deps
	@$(MAKE) -s --no-print-directory all
	@tests/fio/run $(B)

# make fuzz: libFuzzer (clang) over the object model, ioctl decoding and
# the zero-copy side channel, each FUZZ_SECONDS long; a corpus per harness
# in build-fuzz/.
FUZZ_SECONDS ?= 600
FUZZ_BINS := build-fuzz/fuzz_model build-fuzz/fuzz_ioctl \
	build-fuzz/fuzz_sidechannel
SIDECHANNEL_SRCS := fs/zerocopy.c fs/tokens.c fs/fdpass.c fs/udmabuf.c \
	fs/limits.c fs/syncslots.c
FUZZ_FLAGS := -std=gnu11 -g -O1 $(WARN) -D_GNU_SOURCE -Iinclude -Ilib/core -Ilib/util \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do mkdir -p $$f.corpus && \
		$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
		-print_final_stats=1 $$f.corpus || exit 1; done

build-fuzz/fuzz_model: tests/fuzz/fuzz_model.c tests/fuzz/input.h $(CORE_SRCS) \
		$(LIB_SRCS)
	@mkdir -p $(@D)
	$(call say,CLANG,$@)
	$(Q)clang $(FUZZ_FLAGS) -o $@ $< $(CORE_SRCS) $(LIB_SRCS) -pthread -ldl

build-fuzz/fuzz_ioctl: tests/fuzz/fuzz_ioctl.c tests/fuzz/input.h fs/decode.c fs/decode.h \
		$(CORE_SRCS) $(LIB_SRCS)
	@mkdir -p $(@D)
	$(call say,CLANG,$@)
	$(Q)clang $(FUZZ_FLAGS) -o $@ $< fs/decode.c $(CORE_SRCS) $(LIB_SRCS) \
		-pthread -ldl

build-fuzz/fuzz_sidechannel: tests/fuzz/fuzz_sidechannel.c tests/fuzz/input.h \
		$(SIDECHANNEL_SRCS) fs/fs.h $(CORE_SRCS) $(LIB_SRCS)
	@mkdir -p $(@D)
	$(call say,CLANG,$@)
	$(Q)clang $(FUZZ_FLAGS) $(FUSE_CFLAGS) -o $@ $< $(SIDECHANNEL_SRCS) \
		$(CORE_SRCS) $(LIB_SRCS) -pthread -ldl

.PHONY: all check test-deps layers kernel-expected unit-tests demo demo-compat demo-sanitize bench fuzz fio-check valgrind-check install uninstall clean deps format format-check build-tests
all: $(CORE_LIB) $(LIB_A) $(LIB_SO) $(FS_BIN) $(CTL_BIN) $(DEMO_BIN) \
	$(COMPAT_SO) $(COMPAT_CAMERA)

build-tests: all $(UNIT_BINS) $(INTEG_BINS) $(TEST_PLUGINS) $(BENCH_BINS) \
	$(COMPAT_PROGS) $(LIB_PROGS) $(KEXACT)

# What `make` and the demo need; make check needs the test tools too.
deps:
	@tools/install-deps build

test-deps:
	@tools/install-deps test

check: test-deps
	@$(MAKE) -s --no-print-directory build-tests
	@$(MAKE) -s --no-print-directory layers
	@tests/run-tests $(B)

# No circle of files, no file over 1000 lines, no FUSE under lib/.
layers: all
	@tools/layers $(B) $(FS_OBJS) $(CORE_OBJS) $(LIB_OBJS) \
		$(filter $(B)/compat/lib/compat/%,$(COMPAT_OBJS)) $(TOOL_OBJS)

# tests/kernel/expected from the kernel itself (tests/kernel/run), and
# dmabuf-compat(7)'s section from tests/kernel/allow-list.
kernel-expected: $(KEXACT)
	@tests/kernel/run record $(B)
	@tests/kernel/run man

unit-tests: build-tests
	@tests/run-tests $(B) unit

demo: deps
	@$(MAKE) -s --no-print-directory all
	@$(DEMO_BIN)

demo-compat: deps
	@$(MAKE) -s --no-print-directory all
	@$(DEMO_BIN) --compat

demo-sanitize: deps
	@$(MAKE) -s --no-print-directory all
	@$(DEMO_BIN) --sanitize

bench: deps
	@$(MAKE) -s --no-print-directory all $(BENCH_BINS) $(COMPAT_PROGS)
	@$(B)/tests/bench/bench $(B) $(B)/bench.json

# lib/ knows nothing of FUSE: only fs/ objects see its headers.
$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/fs/%.o: fs/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^

# Unit tests also get the daemon's FUSE-free ioctl decoder.
$(B)/tests/unit/%: tests/unit/%.c $(CORE_LIB) $(LIB_A) $(B)/fs/decode.o
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/fs/decode.o $(CORE_LIB) $(LIB_A) $(ALL_LDFLAGS) $(CRITERION_LIBS) -ldl

$(B)/tests/integration/%: tests/integration/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(JSON_CFLAGS) -o $@ $< $(LIB_A) $(ALL_LDFLAGS) \
		$(CRITERION_LIBS) $(JSON_LIBS)

$(B)/tests/bench/bench: tests/bench/bench.c tools/mountd.h $(LIB_A)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(ALL_LDFLAGS)

$(B)/tests/bench/floor: tests/bench/floor.c
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(FUSE_LIBS)

$(B)/tests/plugins/%.so: tests/plugins/%.c
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -shared -o $@ $< $(ALL_LDFLAGS)

# Preloaded into programs from elsewhere, so never sanitized: an ASan
# runtime must come first in a process, and theirs has none.
COMPAT_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -fPIC -D_GNU_SOURCE -Iinclude
COMPAT_SRCS := lib/compat/compat.c lib/compat/paths.c lib/compat/fds.c \
	lib/compat/procfd.c lib/compat/procmaps.c lib/compat/usermem.c \
	lib/compat/views.c
COMPAT_OBJS := $(COMPAT_SRCS:%.c=$(B)/compat/%.o) \
	$(LIB_SRCS:%.c=$(B)/compat/%.o)
$(B)/compat/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(COMPAT_CFLAGS) -MMD -MP -c -o $@ $<

$(COMPAT_SO): $(COMPAT_OBJS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -o $@ $(COMPAT_OBJS) -pthread -ldl

$(COMPAT_CAMERA): tools/compat-camera.c tools/demo-frame.h
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -o $@ $<

# Only the system's headers: what a program from elsewhere would have.
$(B)/tests/compat/%: tests/compat/%.c tests/compat/tap.h
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -o $@ $<

$(KEXACT): tests/kernel/kexact.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -o $@ $<

$(PLAIN_LIB_SO): $(LIB_SRCS) lib/libdmabuf/sanitizer.h \
		$(wildcard include/dmabuf/*.h)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(COMPAT_CFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ \
		$(LIB_SRCS) -pthread

$(B)/tests/lib/%: tests/lib/%.c $(PLAIN_LIB_SO)
	$(call say,CC,$@)
	$(Q)$(CC) $(COMPAT_CFLAGS) -o $@ $< $(PLAIN_LIB_SO) \
		-Wl,-rpath,'$$ORIGIN'

# A driver-like module without debug information, as a distribution ships
# Mesa, for the sanitizer's suppression by module.
$(B)/tests/compat/libfakedev.so: tests/compat/fakedev/fakedev.c
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -fPIC -shared -o $@ $<

# A static build, for the message dmabufctl run gives such programs.
$(B)/tests/compat/heap_client-static: tests/compat/heap_client.c tests/compat/tap.h
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -static -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(ALL_LDFLAGS)
	$(Q)ln -sf $(notdir $@) $(@D)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(@D)/libdmabuf.so

$(FS_BIN): $(FS_OBJS) $(CORE_LIB) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $(FS_OBJS) $(CORE_LIB) $(LIB_A) $(ALL_LDFLAGS) $(FUSE_LIBS) -ldl

# Tools use libdmabuf only.
$(B)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(JSON_CFLAGS) -c -o $@ $<

$(CTL_BIN): $(CTL_OBJS) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $(CTL_OBJS) $(LIB_A) $(ALL_LDFLAGS) $(URING_LIBS) \
		$(JSON_LIBS)

$(DEMO_BIN): $(B)/tools/dmabuf-demo.o $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $< $(LIB_A) $(ALL_LDFLAGS)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(INCLUDEDIR)/dmabuf \
		$(DESTDIR)$(HEAPDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(MANDIR)/man2 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 $(FS_BIN) $(DESTDIR)$(SBINDIR)/dmabuffs
	install -m 755 $(CTL_BIN) $(DESTDIR)$(BINDIR)/dmabufctl
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(COMPAT_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdmabuf.so
	# Generated here so that it names the PREFIX installed to.
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		lib/libdmabuf/dmabuf.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/dmabuf.pc
	install -m 644 include/dmabuf/*.h $(DESTDIR)$(INCLUDEDIR)/dmabuf/
	sed 's|@SBINDIR@|$(SBINDIR)|' fs/dmabuffs.service.in > $(DESTDIR)$(UNITDIR)/dmabuffs.service
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.2 $(DESTDIR)$(MANDIR)/man2/
	install -m 644 man/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	man/aliases install $(DESTDIR)$(MANDIR)
	@# Into the system (no DESTDIR), as root: the new libdmabuf.so.0 is
	@# found at once.
	$(if $(DESTDIR),@:,if [ "$$(id -u)" = 0 ]; then ldconfig; fi)

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/dmabuffs $(DESTDIR)$(UNITDIR)/dmabuffs.service
	rm -f $(DESTDIR)$(LIBDIR)/libdmabuf.* $(DESTDIR)$(LIBDIR)/pkgconfig/dmabuf.pc \
		$(DESTDIR)$(LIBDIR)/libdmabuf-compat.so
	rm -rf $(DESTDIR)$(INCLUDEDIR)/dmabuf
	rm -f $(DESTDIR)$(BINDIR)/dmabufctl
	man/aliases uninstall $(DESTDIR)$(MANDIR)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard man/*.3))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man2/,$(notdir $(wildcard man/*.2))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(wildcard man/*.7))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8)))

format:
	clang-format -i $$(git ls-files -co --exclude-standard '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files -co --exclude-standard '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz

-include $(CORE_OBJS:.o=.d) $(FS_OBJS:.o=.d) $(LIB_OBJS:.o=.d) \
	$(COMPAT_OBJS:.o=.d) \
	$(CTL_OBJS:.o=.d) $(B)/tools/dmabuf-demo.d \
	$(UNIT_BINS:=.d) $(INTEG_BINS:=.d) $(BENCH_BINS:=.d)
