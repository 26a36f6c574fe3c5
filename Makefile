# ipsecsim: build, test, demo, bench.
#   make          build ./ipsecsim
#   make demo     install what is missing, build, run the demo scenario
#   make check    every test: unit, scenarios (twice), interop, sanitizers
#   make deps     install missing Debian packages (tools/install-deps)
#   make mutate   plant the bugs of tests/mutation/mutants.txt, print the kill rate
#   make fuzz     build the libFuzzer harnesses with clang, run each FUZZ_SECONDS
#   make bench    speed figures; make bench-ns3 the same workloads against ns-3

CC       ?= cc
PKGS     := libpcap openssl zlib
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEPCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcap -lssl -lcrypto -lz)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(DEPCFLAGS) -I.

BUILD    ?= build
SAN_BUILD := build-san
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# libFuzzer harnesses (tests/fuzz/, docs/fuzzing.md): clang, with ASan+UBSan
FUZZ_BUILD := build-fuzz
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=all
FUZZERS    := scenario conf safile pfkey packet capture ike
FUZZ_SECONDS ?= 60

LIB_SRCS := $(wildcard stack/*.c) $(wildcard sim/*.c) $(wildcard ipsec/*.c) $(wildcard pf/*.c) \
	    $(wildcard ike/*.c)
CLI_SRCS := $(wildcard tools/*.c)
TEST_SRCS := $(wildcard tests/unit/*.c)

LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  = $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_OBJS = $(TEST_SRCS:%.c=$(BUILD)/%.o)

.PHONY: all deps demo check unit sanitize-build fuzz-build fuzz bench bench-ns3 mutate clean format \
	install uninstall
# Keep the objects pattern rules make on the way (the harnesses' would be
# deleted and rebuilt at every check).
.SECONDARY:

all: ipsecsim

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binary, the man pages
# ipsecsim(1) and ipsecsim-scenario(5), and the docs; make uninstall.
PREFIX  ?= /usr/local
BINDIR  := $(PREFIX)/bin
MANDIR  := $(PREFIX)/share/man
DOCDIR  := $(PREFIX)/share/doc/ipsecsim
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(DOCDIR)/docs
	install -m 755 ipsecsim $(DESTDIR)$(BINDIR)/ipsecsim
	install -m 644 man/ipsecsim.1 $(DESTDIR)$(MANDIR)/man1/ipsecsim.1
	install -m 644 man/ipsecsim-scenario.5 $(DESTDIR)$(MANDIR)/man5/ipsecsim-scenario.5
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ipsecsim $(DESTDIR)$(MANDIR)/man1/ipsecsim.1 \
		$(DESTDIR)$(MANDIR)/man5/ipsecsim-scenario.5
	rm -rf $(DESTDIR)$(DOCDIR)

ipsecsim: $(BUILD)/ipsecsim
	@cp $< $@

$(BUILD)/ipsecsim: $(LIB_OBJS) $(CLI_OBJS)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/bench-ipsec: $(LIB_OBJS) $(BUILD)/tests/bench/bench_ipsec.o
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/bench-esp: $(LIB_OBJS) $(filter-out $(BUILD)/tools/ipsecsim.o,$(CLI_OBJS)) \
		    $(BUILD)/tests/bench/bench_esp.o
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(DEPLIBS)

# A harness: the library, the commands (without main), the shared part.
$(BUILD)/fuzz-%: $(LIB_OBJS) $(filter-out $(BUILD)/tools/ipsecsim.o,$(CLI_OBJS)) \
		 $(BUILD)/tests/fuzz/fuzz_common.o $(BUILD)/tests/fuzz/fuzz_%.o
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(DEPLIBS)

$(BUILD)/unit-tests: $(LIB_OBJS) $(TEST_OBJS)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(DEPLIBS) -lcunit

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# ipsecsim --version: `git describe` of the tree it was built from, written
# only when it changes so that nothing else rebuilds ("unknown" outside git).
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/version.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define IPSECSIM_VERSION "$(VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/tools/ipsecsim.o: $(BUILD)/version.h
$(BUILD)/tools/ipsecsim.o: ALL_CFLAGS += -I$(BUILD)
.PHONY: FORCE
FORCE:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

deps:
	@tools/install-deps

# deps first, then a fresh make: pkg-config must see the installed packages.
demo: deps
	@$(MAKE) --no-print-directory ipsecsim
	./ipsecsim run -o out/demo scenarios/demo.scn
	@echo
	@echo "demo: pcaps of the LANs, the WAN and both enc0s are in out/demo/;"
	@echo "the WAN carries only ESP.  The run's SAs are in out/demo/esp_sa."
	@echo "Decrypted, every ICV checked (bash):"
	@echo '  mapfile -t sa < <(grep "^\"" out/demo/esp_sa); tshark -r out/demo/wan1.pcap -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE "$${sa[@]/#/-ouat:esp_sa:}"'
	@echo "enc0, as OpenBSD's tcpdump shows it: tcpdump -nr out/demo/gw1-enc0.pcap"
	@echo "A picture of the run (topology, ladder diagram, verdicts): out/demo/report.html"

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# The sanitizer build lives in its own tree so both can coexist.
sanitize-build:
	$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CFLAGS="$(SAN_FLAGS)" \
		$(SAN_BUILD)/ipsecsim $(SAN_BUILD)/unit-tests

# The benchmarks are built (not run) so that a change cannot break them unseen.
check: deps
	@$(MAKE) --no-print-directory all $(BUILD)/unit-tests $(BUILD)/bench-ipsec $(BUILD)/bench-esp
	@$(MAKE) --no-print-directory sanitize-build
	@$(MAKE) --no-print-directory fuzz-build
	@tests/run-all.sh $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="$(FUZZ_FLAGS)" \
		$(FUZZERS:%=$(FUZZ_BUILD)/fuzz-%)

# Each harness for FUZZ_SECONDS on its seed corpus (tests/fuzz/seeds.sh),
# growing it in build-fuzz/corpus/; a crash leaves its input in
# build-fuzz/ (docs/fuzzing.md says how to make it a regression test).
fuzz: deps all fuzz-build
	@tests/fuzz/seeds.sh $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)
	@for f in $(FUZZERS); do \
		echo "== fuzz-$$f ($(FUZZ_SECONDS) s)"; \
		dict=; [ -f tests/fuzz/$$f.dict ] && dict=-dict=tests/fuzz/$$f.dict; \
		regress=; [ -d tests/fuzz/regress/$$f ] && regress=tests/fuzz/regress/$$f; \
		$(FUZZ_BUILD)/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$f- $$dict \
			$(FUZZ_BUILD)/corpus/$$f $$regress || exit 1; \
	done

# ipsecsim against ns-3 on the same workloads (tests/bench-ns3.sh); needs
# Debian's libns3-dev, which this target installs (never make check).
NS3_MODULES := core network internet point-to-point applications internet-apps traffic-control
$(BUILD)/bench-ns3: tests/bench/ns3/bench_ns3.cc
	@echo "  CXX     $@"
	@mkdir -p $(BUILD)
	@g++ -O2 -std=c++17 -o $@ $< $$(pkg-config --libs $(NS3_MODULES:%=ns3-%))

bench-ns3: deps all
	@tools/install-deps --ns3
	@$(MAKE) --no-print-directory $(BUILD)/bench-ns3
	@tests/bench-ns3.sh ./ipsecsim $(BUILD)/bench-ns3

bench: all $(BUILD)/bench-ipsec $(BUILD)/bench-esp
	@tests/bench.sh
	@$(BUILD)/bench-ipsec
	@$(BUILD)/bench-esp

# Not part of check (minutes, not seconds): run it before resolving an issue
# that touches ipsec/ or stack/.  MUTANTS="name ..." runs only those.
mutate: deps
	@tests/mutation/mutate.py $(MUTANTS)

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) $(wildcard */*.h tests/unit/*.h)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD) ipsecsim out
