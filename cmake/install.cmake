# Installation: `cmake --install BUILD [--prefix DIR]` with DESTDIR, or
# `make install PREFIX=... DESTDIR=...` (the Makefile front end).  Paths
# come from GNUInstallDirs (bin, lib or lib/<multiarch> under /usr,
# include, share/man, share/bash-completion).  What is installed:
#
#   bin/udax                               the command
#   lib/libudax.so.1.<version>, .so.1, .so  SONAME libudax.so.1, symbols UDAX_1
#   lib/libudax.a
#   lib/libudax-preload.so                 the interposer (when built)
#   lib/pkgconfig/udax.pc
#   include/udax.h
#   share/man/man1/udax.1, man3/udax.3 (+ one .so page per call),
#   share/man/man7/udax-preload.7
#   share/bash-completion/completions/udax
#
# `udax run` finds the interposer as ../lib/libudax-preload.so relative
# to its own binary (UDAX_PRELOAD_RELPATH, computed from BINDIR and
# LIBDIR in the top-level CMakeLists.txt).

# The package version is stated twice (project() and udax.h): keep them equal.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/udax.h _udax_ver
     REGEX "^#define UDAX_VERSION_STRING ")
string(REGEX REPLACE ".*\"(.*)\".*" "\\1" _udax_ver "${_udax_ver}")
if(NOT _udax_ver STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "udax.h says version ${_udax_ver}, CMakeLists.txt ${PROJECT_VERSION}")
endif()

install(TARGETS udax RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS udax_shared
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Unspecified)
install(TARGETS udax_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/udax.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET udax_preload)
  install(TARGETS udax_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

# pkg-config: paths relative to ${prefix} where GNUInstallDirs made them so
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(UDAX_PC_${d} "${CMAKE_INSTALL_${d}}")
  elseif(d STREQUAL "LIBDIR")
    set(UDAX_PC_${d} "\${exec_prefix}/${CMAKE_INSTALL_${d}}")
  else()
    set(UDAX_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/udax.pc.in ${PROJECT_BINARY_DIR}/udax.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/udax.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Man pages, and a one-line page per public call (".so man3/udax.3") so
# that `man udax_open` finds udax(3).
set(UDAX_MAN ${PROJECT_SOURCE_DIR}/docs/man)
install(FILES ${UDAX_MAN}/udax.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${UDAX_MAN}/udax.3 DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
install(FILES ${UDAX_MAN}/udax-preload.7 DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
file(STRINGS ${PROJECT_SOURCE_DIR}/include/udax.h _udax_protos
     REGEX "^[a-z_ 0-9]+[ *](udax_[a-z0-9_]+)\\(")
set(UDAX_CALLS)
foreach(line ${_udax_protos})
  string(REGEX REPLACE "^[a-z_ 0-9]+[ *](udax_[a-z0-9_]+)\\(.*" "\\1" call "${line}")
  list(APPEND UDAX_CALLS ${call})
endforeach()
list(REMOVE_DUPLICATES UDAX_CALLS)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/man3)
set(_udax_links)
foreach(call ${UDAX_CALLS})
  set(_f ${PROJECT_BINARY_DIR}/man3/${call}.3)
  if(NOT EXISTS ${_f})
    file(WRITE ${_f} ".so man3/udax.3\n")
  endif()
  list(APPEND _udax_links ${_f})
endforeach()
install(FILES ${_udax_links} DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)

install(FILES ${PROJECT_SOURCE_DIR}/tools/completion/udax.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME udax)

# The install test: plain builds only (sanitized libraries cannot be
# used by an uninstrumented client, and one run is enough).
if(UDAX_SANITIZE STREQUAL "")
  add_test(NAME test_install
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/test_install.sh
            ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(test_install PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
    ENVIRONMENT "UDAX_PREFIX_DIR=${CMAKE_INSTALL_PREFIX};UDAX_BINDIR=${CMAKE_INSTALL_FULL_BINDIR};UDAX_LIBDIR=${CMAKE_INSTALL_FULL_LIBDIR};UDAX_INCLUDEDIR=${CMAKE_INSTALL_FULL_INCLUDEDIR};UDAX_MANDIR=${CMAKE_INSTALL_FULL_MANDIR};UDAX_DATADIR=${CMAKE_INSTALL_FULL_DATADIR};UDAX_HAVE_PRELOAD=$<BOOL:$<TARGET_EXISTS:udax_preload>>;UDAX_SOVERSION=${UDAX_SOVERSION};UDAX_VERSION=${PROJECT_VERSION};UDAX_CMAKE=${CMAKE_COMMAND};UDAX_CC=${CMAKE_C_COMPILER}")
endif()
