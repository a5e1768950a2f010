# Convenience front end over CMake.  The two commands of the README:
#   make run    build and run `udax demo` on a default pool in /dev/shm
#   make check  build and run every test: plain, ASan+UBSan and TSan builds
#   make install [PREFIX=/usr/local] [DESTDIR=/staging]
#               build and install udax, libudax, udax.h, udax.pc, the
#               interposer, man pages and bash completion (cmake/install.cmake)
#   make uninstall [DESTDIR=...]  remove what the last `make install` put there
JOBS ?= 2
PREFIX ?= /usr/local

.PHONY: all run test check clean install uninstall

all:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

run: all
	./build/udax demo

test: all
	cd build && ctest --output-on-failure

check:
	bash scripts/check.sh

# The prefix is fixed at configure time: udax.pc and `udax run`'s search
# path are generated from it.
install:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build build -j$(JOBS)
	DESTDIR=$(DESTDIR) cmake --install build

uninstall:  # (the manifest lists the paths without DESTDIR)
	@test -f build/install_manifest.txt || { echo "nothing installed from ./build"; exit 1; }
	while read -r f || [ -n "$$f" ]; do rm -f "$(DESTDIR)$$f"; done <build/install_manifest.txt

clean:
	rm -rf build build-asan build-tsan
