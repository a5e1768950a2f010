# Convenience front end over CMake.  The two commands of the README:
#   make run    build and run `udax demo` on a default pool in /dev/shm
#   make check  build and run every test: plain, ASan+UBSan and TSan builds
JOBS ?= 2

.PHONY: all run test check clean

all:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

run: all
	./build/udax demo

test: all
	cd build && ctest --output-on-failure

check:
	bash scripts/check.sh

clean:
	rm -rf build build-asan build-tsan
