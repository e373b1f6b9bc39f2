# oflash - top-level convenience targets around CMake.
#   make run    install what is missing, build, run the demo on the simulated chip
#   make check  install what is missing, build, run every test
#   make crashtest  the full crash sweep (kill -9 at every state-changing
#               system call, power loss at every flash operation; minutes)
#   make install   build, then cmake --install into PREFIX (/usr/local)
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local

.PHONY: all deps build run check crashtest bench clean format lint install

all: build

deps:
	@bash scripts/install-deps.sh --if-missing

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	bash scripts/demo.sh $(BUILD)

check: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

crashtest: build
	OFLASH=$(abspath $(BUILD))/oflash bash tests/crash/crash_sweep.sh --full --jobs $(JOBS)
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	@for b in bench/*.sh; do echo "== $$b"; bash $$b $(BUILD) || exit 1; done

lint: deps
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
	  --inline-suppr -Iinclude -Isrc -D__GNUC__ src

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
