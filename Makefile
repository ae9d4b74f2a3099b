# mozdef-ship: the README's two commands, `make demo` and `make test`, do all set-up
# on a fresh Debian machine (as root): they install what is missing first.

SWIFT       ?= swift
NOW         := 2026-11-29T00:00:00Z
SAMPLES     := $(shell find samples -type f ! -path 'samples/systemd/*' ! -path 'samples/rules/*' ! -name '*.expected.jsonl' ! -name '*.md' 2>/dev/null | LC_ALL=C sort)
# A sample's format is its folder's name; samples/mixed is for auto detection.
format_of = $(patsubst mixed,auto,$(word 2,$(subst /, ,$(1))))
APT_PACKAGES := libcurl4-openssl-dev librabbitmq-dev zlib1g-dev pkg-config mandoc gzip tzdata python3 logrotate systemd rabbitmq-server python3-pika python3-venv libsqlite3-dev libpq-dev postgresql

.PHONY: all deps pydeps build release test demo golden bench fuzz faults lint-man mappings clean

all: build

# Debian packages the build and the tests need; installed only when missing. Packages do not
# start their services while installing (policy-rc.d): the tests start a private RabbitMQ on
# loopback themselves, and nothing is left listening.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or install:$$missing)" >&2; exit 1; fi; \
	  policy=/usr/sbin/policy-rc.d; own_policy=; \
	  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy && chmod +x $$policy && own_policy=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; rc=$$?; \
	  if [ -n "$$own_policy" ]; then rm -f $$policy; fi; \
	  [ $$rc = 0 ] || exit $$rc; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift toolchain not found on PATH" >&2; exit 1; }

# mozdef-client from PyPI, a peer in the receiver's tests, in a venv under .build that also
# sees Debian's python3-pika.
PYENV := .build/python
pydeps: deps
	@$(PYENV)/bin/python3 -c 'import mozdef_client' 2>/dev/null || { \
	  /usr/bin/python3 -m venv --system-site-packages $(PYENV) && \
	  $(PYENV)/bin/pip install -q --disable-pip-version-check mozdef-client; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product mozdef-ship

test: deps pydeps lint-man
	$(SWIFT) build --build-tests
	$(SWIFT) test

lint-man: deps
	@for m in man/*.[0-9]; do mandoc -T lint -W warning $$m || exit 1; done
	@echo "man pages: mandoc -T lint -W warning clean"

# The main job end to end (scripts/demo): mozdef-receiver on loopback with samples/rules,
# every sample shipped to it by mozdef-ship over HTTP, the rules run, counts and alerts shown.
demo: deps
	$(SWIFT) build -c release --product mozdef-ship
	$(SWIFT) build -c release --product mozdef-receiver
	scripts/demo "$$($(SWIFT) build -c release --show-bin-path)"

# Rewrites the golden files on purpose; review the diff before committing.
golden: build
	@bin=$$($(SWIFT) build --show-bin-path)/mozdef-ship; \
	$(foreach f,$(SAMPLES),$$bin convert --format $(call format_of,$(f)) --now $(NOW) "$(f)" > "$(f).expected.jsonl" \
	  || [ $$? -eq 1 ] || exit 1; echo "wrote $(f).expected.jsonl"; )

# The mapping files built into the binary follow mappings/*.map (a test checks it).
mappings:
	python3 scripts/embed-mappings

bench: deps
	benchmarks/run.sh
	$(SWIFT) build -c release --product mozdef-ship
	python3 benchmarks/tail.py
	benchmarks/amqp.sh
	benchmarks/http.sh
	$(SWIFT) build -c release --product mozdef-receiver
	benchmarks/receiver.sh
	benchmarks/cluster.sh

# Every parser under libFuzzer with AddressSanitizer, SECONDS each (crashes in .build-fuzz/crashes).
SECONDS ?= 60
FUZZ_FLAGS := -c release --scratch-path .build-fuzz --product mozdef-fuzz \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address
fuzz: deps
	@mkdir -p .build-fuzz
	$(SWIFT) build $(FUZZ_FLAGS) > .build-fuzz/build.log 2>&1 || { grep -v "Cannot export local symbol" .build-fuzz/build.log | tail -30; exit 1; }
	python3 scripts/fuzz .build-fuzz/release/mozdef-fuzz $(SECONDS)

# The fault suite with a million lines (make test runs a short form of it).
faults: deps
	$(SWIFT) build -c release --product mozdef-ship
	$(SWIFT) build -c release --product mozdef-receiver
	python3 scripts/faults $$($(SWIFT) build -c release --show-bin-path)

clean:
	rm -rf .build
